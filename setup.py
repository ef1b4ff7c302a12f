"""VisionX: dense prediction and 3D vision methods on MMEngine / MMSegmentation."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list[str]:
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


def read_version() -> str:
    namespace: dict = {}
    exec((HERE / 'visionx' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='visionx',
    version=read_version(),
    description='Dense prediction and 3D vision methods as MMEngine plugins',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['visionx', 'visionx.*']),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
    },
    license='Apache-2.0',
)
