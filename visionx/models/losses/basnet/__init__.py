"""BASNet's hybrid BCE + SSIM + IoU loss."""
from .hybrid import BASNetHybridLoss, basnet_hybrid_loss, gaussian_window, ssim_map

__all__ = ['BASNetHybridLoss', 'basnet_hybrid_loss', 'gaussian_window', 'ssim_map']
