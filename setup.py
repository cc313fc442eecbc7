"""Build hook: the repository's top-level playbooks/ ship inside the package as bot/playbooks/,
so an installed segbot (wheel, container, VM) finds its default playbook without a copy step.
A source checkout (editable install) reads playbooks/ directly."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPlaybooks(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "bot" / "playbooks"
        target.mkdir(parents=True, exist_ok=True)
        for playbook in sorted(Path(__file__).parent.joinpath("playbooks").glob("*.yaml")):
            shutil.copyfile(playbook, target / playbook.name)


setup(cmdclass={"build_py": BuildWithPlaybooks})
