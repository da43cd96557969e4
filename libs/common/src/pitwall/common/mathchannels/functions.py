"""The functions of the language and how many arguments each takes (checked when parsing)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arity:
    least: int
    most: int | None  # None: any number from `least`

    def accepts(self, n: int) -> bool:
        return n >= self.least and (self.most is None or n <= self.most)

    def describe(self) -> str:
        if self.most == self.least:
            return f"{self.least} argument{'s' if self.least != 1 else ''}"
        if self.most is None:
            return f"at least {self.least} arguments"
        return f"{self.least} to {self.most} arguments"


FUNCTIONS: dict[str, Arity] = {
    "abs": Arity(1, 1),
    "sqrt": Arity(1, 1),
    "exp": Arity(1, 1),
    "log": Arity(1, 1),
    "sin": Arity(1, 1),
    "cos": Arity(1, 1),
    "tan": Arity(1, 1),
    "atan2": Arity(2, 2),
    "min": Arity(2, None),
    "max": Arity(2, None),
    "clip": Arity(3, 3),
    "where": Arity(3, 3),
    "deriv": Arity(1, 1),
    "integ": Arity(1, 1),
    "smooth": Arity(2, 2),
    "lapdist": Arity(0, 0),
    "laptime": Arity(0, 0),
}

LAP_FUNCTIONS = frozenset({"lapdist", "laptime"})
