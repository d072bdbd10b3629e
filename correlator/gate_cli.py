"""``correlator gate SERVICE``: ask the deploy gate whether SERVICE may ship now.

For CI/CD pipelines: a deploy step runs ``correlator gate checkout`` and
proceeds only on exit code 0. The decision comes from a running worker
(``GET /api/v1/gate/{service}`` on ``--url``) or, offline, from a gate state
file written by ``correlator replay --gate-state``. The JSON decision is
printed on stdout either way.

Exit codes: 0 open; 0 caution (with a warning on stderr: the budget is low,
ship with care); 1 closed; 2 error (unknown service, unreachable worker,
unreadable state file, malformed answer) -- a pipeline that treats any
non-zero code as "stop" fails safe.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from correlator.budget.gate import GATE_STATE_KIND

__all__ = ["GateQueryError", "decision_from_state", "exit_code", "fetch_decision", "register"]

DEFAULT_URL = "http://127.0.0.1:6066"
_STATES = {"open": 0, "caution": 0, "closed": 1}
_MAX_ANSWER_BYTES = 4 * 1_048_576


class GateQueryError(Exception):
    """The gate could not be asked, or gave no usable answer; the message says why."""


def decision_from_state(doc: object, service: str) -> dict[str, Any]:
    """The decision for ``service`` in a gate state document.

    ``service`` may be an id or an alias, matched exactly, else case-insensitively.
    """
    if not isinstance(doc, dict) or doc.get("kind") != GATE_STATE_KIND:
        raise GateQueryError(f"not a gate state file (expected \"kind\": \"{GATE_STATE_KIND}\")")
    services = doc.get("services")
    aliases = doc.get("aliases") or {}
    if not isinstance(services, dict) or not isinstance(aliases, dict):
        raise GateQueryError("gate state file has no 'services' object")
    key: object = service if service in services else aliases.get(service)
    if key is None:
        folded = [s for s in sorted(services) if s.casefold() == service.casefold()]
        folded += [aliases[a] for a in sorted(aliases) if a.casefold() == service.casefold()]
        key = folded[0] if len(set(folded)) == 1 else None
    if not isinstance(key, str) or key not in services:
        raise GateQueryError(f"unknown service {service!r} (not in the gate state file)")
    decision = services[key]
    if not isinstance(decision, dict):
        raise GateQueryError(f"gate state for {key!r} is not an object")
    return decision


def fetch_decision(url: str, service: str, timeout_s: float) -> dict[str, Any]:
    """Ask a running worker: ``GET {url}/api/v1/gate/{service}``."""
    target = f"{url.rstrip('/')}/api/v1/gate/{urllib.parse.quote(service, safe='')}"
    if not target.startswith(("http://", "https://")):
        raise GateQueryError(f"--url must start with http:// or https://, got {url!r}")
    request = urllib.request.Request(target, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(_MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise GateQueryError(f"unknown service {service!r} (HTTP 404 from {target})") from None
        raise GateQueryError(f"{target} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GateQueryError(f"cannot reach the gate at {target}: {reason}") from None
    if len(body) > _MAX_ANSWER_BYTES:
        raise GateQueryError(f"{target}: answer larger than {_MAX_ANSWER_BYTES} bytes")
    try:
        decision = json.loads(body)
    except ValueError:
        raise GateQueryError(f"{target}: answer is not JSON") from None
    if not isinstance(decision, dict):
        raise GateQueryError(f"{target}: answer is not a JSON object")
    return decision


def read_state(path: str) -> object:
    try:
        return json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise GateQueryError(f"cannot read gate state {path}: {exc.strerror}") from None
    except ValueError:
        raise GateQueryError(f"{path}: gate state is not JSON") from None


def exit_code(decision: dict[str, Any]) -> int:
    """0 open or caution, 1 closed; a decision without a known state is an error."""
    state = decision.get("state")
    if not isinstance(state, str) or state not in _STATES:
        raise GateQueryError(f"the gate answered an unknown state {state!r}")
    return _STATES[state]


def run(args: argparse.Namespace) -> int:
    """Handler of ``correlator gate``; returns the exit code."""
    try:
        if args.state is not None:
            decision = decision_from_state(read_state(args.state), args.service)
        else:
            decision = fetch_decision(args.url, args.service, args.timeout)
        code = exit_code(decision)
    except GateQueryError as exc:
        print(f"correlator: error: gate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(decision, indent=2, sort_keys=True))
    service = decision.get("service", args.service)
    if decision["state"] == "caution":
        print(f"correlator: warning: gate for {service} is at caution: "
              + "; ".join(_messages(decision)), file=sys.stderr)
    elif decision["state"] == "closed":
        print(f"correlator: gate for {service} is closed: " + "; ".join(_messages(decision)),
              file=sys.stderr)
    return code


def _messages(decision: dict[str, Any]) -> list[str]:
    reasons = decision.get("reasons")
    if not isinstance(reasons, list):
        return []
    return [str(r.get("message", r.get("code", "?"))) for r in reasons if isinstance(r, dict)]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``gate`` sub-command."""
    p = subparsers.add_parser(
        "gate",
        help="ask the deploy gate whether a service may ship now (for CI/CD)",
        description="Print the deploy gate decision for SERVICE as JSON. Exit 0 when open or "
        "at caution (a warning is printed), 1 when closed, 2 on error. Asks a running worker "
        "over HTTP, or reads a gate state file written by `correlator replay --gate-state`.",
    )
    p.add_argument("service", metavar="SERVICE", help="service id or alias")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--url", default=DEFAULT_URL,
                        help=f"worker base URL (default {DEFAULT_URL})")
    source.add_argument("--state", metavar="FILE", help="read a gate state file instead")
    p.add_argument("--timeout", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="HTTP timeout (default 5)")
    p.set_defaults(func=run)
