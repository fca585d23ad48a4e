"""One exception type for "a list of problems": every problem found in an input (the config, the
sample sheet, the gene panels, the QC overrides ...), each naming its file:line and the fix.

A checker collects all problems before it raises, so the operator fixes the input in one go
instead of one error per attempt. Subclasses name what was checked in `subject`:

    class PanelError(ProblemsError):
        subject = "the gene panels"

    str(PanelError(["panels.yaml:3: ... Fix: ...", "..."])) ==
        "2 problem(s) in the gene panels:\\n  - panels.yaml:3: ... Fix: ...\\n  - ..."
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class ProblemsError(ValueError):
    """An invalid input; `problems` lists every problem found (str() of each is one line:
    where, what, and the fix), and str() of the error counts and lists them."""

    subject: ClassVar[str] = "the input"

    def __init__(self, problems: Iterable[Any]):
        self.problems: list[Any] = list(problems)
        super().__init__(self.message())

    def message(self) -> str:
        """'N problem(s) in <subject>:' and one indented '- problem' line per problem."""
        lines = [f"{len(self.problems)} problem(s) in {self.subject}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the problems, not from the message (pickling, multiprocessing).
        return type(self), (self.problems,), self.__dict__
