"""The inter-parameter rules the OpenAPI document states in `x-dependencies` (IDL, from IDL4OAS), read back.

Only the three forms the document uses are understood; any other line is an error, so a rule cannot be
written that the tests would silently skip:
    AllOrNone(a, b);        a and b come together
    IF a=='v' THEN b;       (or IF a THEN b;) a, or a with the value v, needs b
    IF a THEN NOT b;        a excludes b
"""
import re
from dataclasses import dataclass

ALL_OR_NONE = re.compile(r"AllOrNone\((\w+), *(\w+)\);")
IF_THEN = re.compile(r"IF (\w+)(?:=='([^']*)')? THEN (NOT )?(\w+);")


@dataclass(frozen=True)
class Rule:
    """If `when` is given (with the value `value`, when one is named), `then` must be given (or, when
    `present` is false, must not be)."""
    when: str
    value: str | None
    then: str
    present: bool

    def applies(self, query: dict) -> bool:
        return self.when in query and (self.value is None or str(query[self.when]) == self.value)

    def broken_by(self, query: dict) -> bool:
        return self.applies(query) and (self.then in query) != self.present

    def __str__(self):
        condition = self.when if self.value is None else f"{self.when}=={self.value!r}"
        return f"IF {condition} THEN {'' if self.present else 'NOT '}{self.then};"


def parse(lines: list[str]) -> list[Rule]:
    rules = []
    for line in lines:
        if match := ALL_OR_NONE.fullmatch(line.strip()):
            a, b = match.groups()
            rules += [Rule(a, None, b, True), Rule(b, None, a, True)]
        elif match := IF_THEN.fullmatch(line.strip()):
            when, value, negated, then = match.groups()
            rules.append(Rule(when, value, then, not negated))
        else:
            raise ValueError(f"not a dependency these tests understand: {line!r}")
    return rules


def rules_of(document: dict, path: str, method: str = "get") -> list[Rule]:
    return parse(document["paths"][path][method].get("x-dependencies", []))


def query_values(document: dict, path: str, method: str = "get") -> dict:
    """Values each query parameter of an operation can take in the tests: its examples, its enum, or its
    default."""
    values = {}
    for parameter in document["paths"][path][method].get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "query":
            schema = parameter["schema"]
            values[parameter["name"]] = (
                [parameter["example"]] if "example" in parameter else
                [example["value"] for example in parameter["examples"].values()] if "examples" in parameter else
                schema.get("enum") or [schema["default"]])
    return values


def keep(query: dict, rules: list[Rule], example) -> dict:
    """`query` changed as little as it takes to keep every rule: a missing parameter is added (its
    `example(name)`), an excluded one is dropped."""
    query = dict(query)
    for _ in range(len(rules) + 1):
        broken = next((rule for rule in rules if rule.broken_by(query)), None)
        if broken is None:
            return query
        if broken.present:
            query[broken.then] = example(broken.then)
        else:
            del query[broken.then]
    raise ValueError(f"the rules contradict each other for {query}")
