"""Kestra's Pebble expressions, for the subset the adw flows use, rendered with Jinja2.

Kestra renders dynamic properties with Pebble in strict mode. The constructs our flows use have
the same syntax and meaning in Pebble and Jinja2: ``{{ a.b.c }}`` (map lookup), string
literals, ``==`` / ``!=`` / ``and`` / ``or`` / ``not`` (short-circuit), map literals
``{'k': v}``, filters ``x | f``, ``{% set %}`` and ``{% if %}...{% else %}...{% endif %}``.
Only Kestra's own functions and filters that the flows use exist here; anything else (another
filter, Jinja's builtins, an undefined variable) is an error, as it is in Kestra.

Kestra specifics reproduced (kestra-io/kestra, core/src/main/java/io/kestra/core/runners/pebble/):
* ``secret('NAME')`` (functions/SecretFunction; open-source edition: env ``SECRET_NAME``,
  base64, see docs/orchestration.md); here from the secrets given to the emulator.
* ``fromJson(string)`` (functions/FromJsonFunction): parses a JSON string, null stays null.
* ``| toJson`` (filters/ToJsonFilter): the value as JSON text.
* strict variables: a missing variable or map key fails the render (Pebble
  AttributeNotFoundException); booleans print ``true`` / ``false``; null prints nothing.
* a map is looked up by key (Pebble's map attribute access), never by a Python attribute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jinja2

__all__ = ["PebbleError", "render", "render_string"]


class PebbleError(Exception):
    """A render that Kestra would refuse (undefined variable or key, unknown function, ...)."""


class _Env(jinja2.Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self.getattr(obj, argument)


def _print(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        raise PebbleError("printing a map or list: pipe it through toJson")
    return value


def _from_json(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PebbleError("The 'fromJson' function expects an argument 'json' with type string.")
    return json.loads(value)


def _environment(secrets: Mapping[str, str]) -> _Env:
    env = _Env(undefined=jinja2.StrictUndefined, finalize=_print, keep_trailing_newline=True)
    env.filters = {"toJson": lambda v: json.dumps(v, separators=(",", ":"))}
    env.tests = {}

    def secret(name: str) -> str:
        if name not in secrets:
            raise PebbleError(f"Cannot find secret for key '{name}'")
        return secrets[name]

    env.globals = {"secret": secret, "fromJson": _from_json}
    return env


def render_string(template: str, context: Mapping[str, Any], secrets: Mapping[str, str]) -> str:
    if "{{" not in template and "{%" not in template:
        return template
    try:
        return _environment(secrets).from_string(template).render(**context)
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise PebbleError(f"cannot render {template!r}: {exc}") from exc


def render(value: Any, context: Mapping[str, Any], secrets: Mapping[str, str]) -> Any:
    """Every string in ``value`` (recursively) rendered; other scalars unchanged."""
    if isinstance(value, str):
        return render_string(value, context, secrets)
    if isinstance(value, Mapping):
        return {k: render(v, context, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, secrets) for v in value]
    return value
