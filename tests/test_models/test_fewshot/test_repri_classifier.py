"""RePRI's per-task classifier: every term on a hand-made 2×2 feature map, the SGD schedule against a
test-written reference, task independence, oracle mode, prediction and errors."""
import math

import pytest
import torch

from visionx.models.fewshot import (RePRIClassifier, cosine_logits, fg_bg_probas, oracle_proportion,
                                    proportion_kl, prototype_init, query_entropy, query_marginal,
                                    support_cross_entropy)


def sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def feats(vectors):
    """4 channel-vectors (row-major 2×2 map) -> (1, 1, C, 2, 2)."""
    return torch.tensor(vectors, dtype=torch.float64).T.reshape(1, 1, -1, 2, 2)


# Support: positions a=(1,0) fg, b=(0,1) bg, c ignored, d=(0,1) bg.  Query: 1, 0, 0.6, 0.8 cosines.
F_S = feats([[1, 0], [0, 1], [1, 0], [0, 1]])
M_S = torch.tensor([[1, 0], [255, 0]]).reshape(1, 1, 2, 2)
F_Q = feats([[1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6]])
M_Q = torch.tensor([[1, 0], [0, 255]]).reshape(1, 1, 2, 2)


def test_terms_by_hand():
    proto = prototype_init(F_S, M_S)
    assert torch.allclose(proto, torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    logits_q = cosine_logits(F_Q, proto, 20.0)
    assert torch.allclose(logits_q.flatten(), torch.tensor([20.0, 0.0, 12.0, 16.0], dtype=torch.float64))
    bias = logits_q.mean(dim=(1, 2, 3))  # 12, the mean query logit
    p_q = fg_bg_probas(logits_q, bias)
    fg = [sig(8), sig(-12), 0.5, sig(4)]
    assert torch.allclose(p_q[0, 0, 1].flatten(), torch.tensor(fg, dtype=torch.float64))
    assert torch.allclose(p_q.sum(dim=2), torch.ones(1, 1, 2, 2, dtype=torch.float64))

    valid_q = (M_Q != 255).double()
    marg = query_marginal(p_q, valid_q)
    m_fg = (fg[0] + fg[1] + fg[2]) / 3
    assert marg[0, 1].item() == pytest.approx(m_fg, abs=1e-12)
    ent = sum(-(p * math.log(p + 1e-10) + (1 - p) * math.log(1 - p + 1e-10)) for p in fg[:3]) / 3
    assert query_entropy(p_q, valid_q).item() == pytest.approx(ent, abs=1e-9)

    prior = torch.tensor([[0.7, 0.3]], dtype=torch.float64)
    kl = (1 - m_fg) * math.log((1 - m_fg) / (0.7 + 1e-10)) + m_fg * math.log(m_fg / (0.3 + 1e-10))
    assert proportion_kl(marg, prior).item() == pytest.approx(kl, abs=1e-9)

    p_s = fg_bg_probas(cosine_logits(F_S, proto, 20.0), bias)  # support logits 20, 0, (20), 0
    ce = -(math.log(sig(8) + 1e-10) + 2 * math.log(1 - sig(-12) + 1e-10)) / 3
    assert support_cross_entropy(p_s, M_S).item() == pytest.approx(ce, abs=1e-9)

    # true proportion of the valid query pixels: 1 fg of 3
    assert torch.allclose(oracle_proportion(M_Q).double(), torch.tensor([[2 / 3, 1 / 3]], dtype=torch.float64))


def reference_repri(f_s, m_s, f_q, m_q, shots, steps, lr, update_at, increment, oracle):
    """Independent scalar-formula RePRI on one task with C=2, 4 positions (written from the paper/code)."""
    fs = [f_s[0, k, :, i // 2, i % 2] for k in range(f_s.shape[1]) for i in range(4)]
    ys = [int(m_s[0, k, i // 2, i % 2]) for k in range(f_s.shape[1]) for i in range(4)]
    fq = [f_q[0, 0, :, i // 2, i % 2] for i in range(4)]
    yq = [int(m_q[0, 0, i // 2, i % 2]) for i in range(4)]
    fs = [f / f.norm() for f in fs]
    fq = [f / f.norm() for f in fq]
    fg = [f for f, y in zip(fs, ys) if y == 1]
    w = (sum(fg) / len(fg)).clone().requires_grad_()
    cos = lambda f, w: 20 * (f @ w) / (w.norm() * f.norm() + 1e-10)  # noqa: E731
    b = (sum(cos(f, w) for f in fq) / 4).detach().clone().requires_grad_()
    vq = [i for i in range(4) if yq[i] != 255]
    if oracle:
        pi = sum(yq[i] == 1 for i in vq) / len(vq)
    else:
        pi = float(sum(torch.sigmoid(cos(fq[i], w) - b) for i in vq).detach() / len(vq))
    lam_kl = lam_h = 1.0 / shots
    for it in range(1, steps + 1):
        ce = 0
        n_s = 0
        for f, y in zip(fs, ys):
            if y == 255:
                continue
            p = torch.sigmoid(cos(f, w) - b)
            ce = ce - torch.log((p if y == 1 else 1 - p) + 1e-10)
            n_s += 1
        pq = [torch.sigmoid(cos(fq[i], w) - b) for i in vq]
        m = sum(pq) / len(pq)
        h = sum(-(p * torch.log(p + 1e-10) + (1 - p) * torch.log(1 - p + 1e-10)) for p in pq) / len(pq)
        kl = m * torch.log(m / (pi + 1e-10)) + (1 - m) * torch.log((1 - m) / (1 - pi + 1e-10))
        loss = ce / n_s + lam_kl * kl + lam_h * h
        gw, gb = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
        if it + 1 in update_at and not oracle:
            pi = float(sum(torch.sigmoid(cos(fq[i], w) - b) for i in vq).detach() / len(vq))
            lam_kl += increment
    return w.detach(), b.detach()


@pytest.mark.parametrize('increment,oracle', [(1.0, False), (0.0, False), (1.0, True)])
def test_sgd_schedule_matches_reference(increment, oracle):
    g = torch.Generator().manual_seed(0)
    f_s = torch.randn(1, 2, 2, 2, 2, generator=g, dtype=torch.float64)
    m_s = torch.tensor([[[[1, 0], [0, 255]], [[0, 1], [1, 0]]]])
    f_q = torch.randn(1, 1, 2, 2, 2, generator=g, dtype=torch.float64)
    m_q = torch.tensor([[[[1, 0], [255, 1]]]])
    clf = RePRIClassifier(adapt_iter=15, fb_param_update=[10], kl_weight_increment=increment,
                          fb_param_type='oracle' if oracle else 'soft', lr=0.5)
    state = clf.fit(f_s, f_q, m_s, m_q)
    w, b = reference_repri(f_s, m_s, f_q, m_q, 2, 14, 0.5, (10,), increment, oracle)
    assert torch.allclose(state.prototype[0], w, atol=1e-9)
    assert state.bias[0].item() == pytest.approx(b.item(), abs=1e-9)


def test_bump_changes_result_only_after_update():
    g = torch.Generator().manual_seed(1)
    f_s = torch.randn(1, 1, 4, 3, 3, generator=g)
    m_s = (torch.rand(1, 1, 3, 3, generator=g) > 0.5).long()
    f_q = torch.randn(1, 1, 4, 3, 3, generator=g)
    m_q = torch.zeros(1, 1, 3, 3, dtype=torch.long)
    runs = {}
    for inc in (0.0, 1.0):
        for it in (9, 10, 30):
            runs[inc, it] = RePRIClassifier(adapt_iter=it, kl_weight_increment=inc, lr=0.5).fit(
                f_s, f_q, m_s, m_q)
    # the update follows the 9th step: with 9 steps the weights are equal, the prior already updated
    assert torch.equal(runs[0.0, 10].prototype, runs[1.0, 10].prototype)
    assert runs[1.0, 9].prior.equal(runs[1.0, 9].initial_prior)
    assert not runs[1.0, 10].prior.equal(runs[1.0, 10].initial_prior)
    assert not torch.equal(runs[0.0, 30].prototype, runs[1.0, 30].prototype)


def test_batch_of_tasks_equals_one_at_a_time():
    g = torch.Generator().manual_seed(2)
    t, k = 4, 2
    f_s = torch.randn(t, k, 8, 5, 5, generator=g)
    f_q = torch.randn(t, 1, 8, 5, 5, generator=g)
    m_s = (torch.rand(t, k, 9, 9, generator=g) > 0.6).long()
    m_q = (torch.rand(t, 1, 9, 9, generator=g) > 0.6).long()
    m_q[1, 0, :4] = 255
    clf = RePRIClassifier(adapt_iter=20)
    joint = clf.fit(f_s, f_q, m_s, m_q)
    for i in range(t):
        one = clf.fit(f_s[i:i + 1], f_q[i:i + 1], m_s[i:i + 1], m_q[i:i + 1])
        assert torch.allclose(joint.prototype[i], one.prototype[0], atol=1e-5)
        assert torch.allclose(joint.bias[i], one.bias[0], atol=1e-5)
    pred = clf.predict(joint, f_q, (9, 9))
    assert pred.shape == (t, 9, 9) and set(pred.unique().tolist()) <= {0, 1}


def test_adapt_iter_one_is_the_prototype_classifier():
    state = RePRIClassifier(adapt_iter=1).fit(F_S, F_Q, M_S, M_Q)
    assert torch.allclose(state.prototype, torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert state.bias.item() == pytest.approx(12.0)


def test_predict_upsamples_logits_then_ties_go_to_background():
    clf = RePRIClassifier(norm_feat=False)
    f_q = torch.tensor([[1.0, 0.0], [-1.0, 0.0]]).T.reshape(1, 1, 2, 1, 2)  # cosines 1 and -1
    state = clf.fit(F_S.float(), feats([[1, 0]] * 4).float(), M_S, torch.zeros(1, 1, 2, 2, dtype=torch.long))
    state.prototype = torch.tensor([[1.0, 0.0]])
    state.bias = torch.tensor([0.0])
    # logits 20, -20 -> bilinear (align_corners) to width 3: 20, 0, -20 -> fg, tie (bg), bg
    assert clf.predict(state, f_q, (1, 3)).tolist() == [[[1, 0, 0]]]


def test_errors():
    all_ignored = torch.full((1, 1, 2, 2), 255)
    with pytest.raises(ValueError, match='no valid query pixel'):
        RePRIClassifier().fit(F_S, F_Q, M_S, all_ignored)
    with pytest.raises(ValueError, match='no valid support pixel'):
        RePRIClassifier(adapt_iter=2).fit(F_S, F_Q, all_ignored, M_Q)
    with pytest.raises(ValueError, match='fb_param_type'):
        RePRIClassifier(fb_param_type='hard')
    with pytest.raises(ValueError, match='adapt_iter'):
        RePRIClassifier(adapt_iter=0)
