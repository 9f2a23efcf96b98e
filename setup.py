"""What pyproject.toml cannot say: the wheel's top level holds ``ipcsim-autoload.pth``, so
that ``pip install`` puts it into site-packages beside the ``ipcsim`` package, where Python
runs it at start-up (see ipcsim/remote/autoload.py). Everything else is in pyproject.toml.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = os.path.join("ipcsim", "remote", "ipcsim-autoload.pth")


class build_py_with_pth(build_py):
    """build_py, and the .pth copied to the top of the build (the wheel's root: purelib)."""

    def run(self) -> None:
        super().run()
        self.copy_file(PTH, self._pth_output(), preserve_mode=False)

    def _pth_output(self) -> str:
        return os.path.join(self.build_lib, os.path.basename(PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), self._pth_output()]

    def get_output_mapping(self) -> dict[str, str]:
        return {**super().get_output_mapping(), self._pth_output(): PTH}


setup(cmdclass={"build_py": build_py_with_pth})
