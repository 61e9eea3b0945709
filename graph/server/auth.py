"""Who is calling: API keys mapped to Kickserv tenants, pass-through credentials, or open mode.

Three modes, chosen by configuration:

- **open** (no ``GRAPH_API_KEYS_FILE``, no pass-through): every request reads the server's own
  Kickserv account (or the sandbox), as the quickstart promises.
- **API keys** (``GRAPH_API_KEYS_FILE``): a key arrives as ``Authorization: Bearer <key>`` or
  ``X-API-Key: <key>`` and names a Kickserv account, the credential to use and a policy. A missing
  or unknown key is ``UNAUTHENTICATED`` (HTTP 401).
- **pass-through** (``GRAPH_PASS_THROUGH=on``): the caller sends ``X-Kickserv-Account`` and
  ``X-Kickserv-Token``; the server holds no Kickserv secret. Combined with API keys, a request
  with a key uses the key and one with pass-through headers uses those. The account must be a
  slug (letters, digits, dashes; ``ACCOUNT_SLUG``) and the token printable ASCII, or the request
  is refused with 400 before anything reaches Kickserv's URL.

The keys file (TOML, or JSON with the same shape)::

    [[keys]]
    name = "partner-acme"            # shown in logs; the key itself never is
    key_sha256 = "9f86d0…"           # sha256 hex of the key (or `key = "…"`, the key in clear)
    account = "acme"                 # Kickserv account; omit with the token to use the server's own
    token_env = "ACME_KICKSERV_TOKEN"   # the variable holding its token (or `token = "…"`)
    policy = "persisted-only"        # open | audit | persisted-only
    query_budget = 300               # estimated upstream calls per operation (GRAPH_QUERY_BUDGET)
    introspection = false            # __schema / __type / _service (GRAPH_INTROSPECTION)

Keys are compared as sha256 digests with ``hmac.compare_digest`` against every entry, without
stopping at the first match, so timing reveals neither which key nor how much of one matched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from graph.schema.errors import BadRequest, GraphError, Unauthenticated
from graph.server.persisted import SafelistPolicy
from graph.server.requests import state_of
from graph.server.settings import Settings, SettingsError
from kickserv import Unauthorized
from resolvers.parsing import quoted

ACCOUNT_HEADER = "x-kickserv-account"
TOKEN_HEADER = "x-kickserv-token"
API_KEY_HEADER = "x-api-key"


class ApiKeysError(SettingsError):
    """The keys file cannot be used; the message names the file, the entry and what to fix."""


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: which Kickserv tenant it reads and what it may send."""

    name: str
    account: str
    token: str = field(repr=False)
    policy: SafelistPolicy = SafelistPolicy.OPEN
    query_budget: int = 1000
    introspection: bool = True


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    digest: bytes = field(repr=False)  # sha256 of the key
    account: str | None
    token: str | None = field(repr=False)
    policy: SafelistPolicy
    query_budget: int | None
    introspection: bool | None


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class ApiKeys:
    """The loaded keys file."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self.keys = tuple(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, presented: str) -> ApiKey | None:
        """The entry of ``presented``, comparing against every entry in constant time."""
        digest = key_digest(presented)
        found: ApiKey | None = None
        for key in self.keys:
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found

    @classmethod
    def load(cls, path: str | Path, environ: Mapping[str, str] | None = None) -> ApiKeys:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ApiKeysError(f"{path}: cannot read the API-keys file ({exc.strerror}).") from None
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ApiKeysError(f"{path}: not valid {path.suffix[1:] or 'JSON'} ({exc}).") from None
        return cls.from_data(data, str(path), os.environ if environ is None else environ)

    @classmethod
    def from_data(cls, data: Any, source: str, environ: Mapping[str, str]) -> ApiKeys:
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ApiKeysError(f"{source}: expected a non-empty `keys` list.")
        keys = [_parse_key(entry, n, source, environ) for n, entry in enumerate(entries)]
        names = [k.name for k in keys]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ApiKeysError(f"{source}: key names must be unique; repeated: {duplicates}.")
        digests = [k.digest for k in keys]
        if len(set(digests)) != len(digests):
            raise ApiKeysError(f"{source}: two entries have the same key.")
        return cls(keys)


def _parse_key(entry: Any, position: int, source: str, environ: Mapping[str, str]) -> ApiKey:
    where = f"{source}: keys[{position}]"
    if not isinstance(entry, dict):
        raise ApiKeysError(f"{where} is not a table/object.")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ApiKeysError(f"{where} needs a `name`.")
    where = f"{source}: key {name!r}"
    if ("key" in entry) == ("key_sha256" in entry):
        raise ApiKeysError(f"{where} needs exactly one of `key` and `key_sha256`.")
    if "key" in entry:
        if not isinstance(entry["key"], str) or len(entry["key"]) < 16:
            raise ApiKeysError(f"{where}: `key` must be a string of at least 16 characters.")
        digest = key_digest(entry["key"])
    else:
        try:
            digest = bytes.fromhex(str(entry["key_sha256"]))
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ApiKeysError(f"{where}: `key_sha256` must be 64 hex digits (sha256 of the key).")
    account = entry.get("account")
    token = entry.get("token")
    if "token_env" in entry:
        if token is not None:
            raise ApiKeysError(f"{where}: give `token` or `token_env`, not both.")
        variable = str(entry["token_env"])
        token = environ.get(variable, "").strip() or None
        if token is None:
            raise ApiKeysError(f"{where}: environment variable {variable} (its token) is not set.")
    if account is not None and not (isinstance(account, str) and ACCOUNT_SLUG.fullmatch(account)):
        raise ApiKeysError(
            f"{where}: `account` must be a Kickserv account slug (letters, digits and dashes)."
        )
    if (account is None) != (token is None):
        raise ApiKeysError(
            f"{where}: give both `account` and a token, or neither (then the server's own "
            "Kickserv credential is used)."
        )
    try:
        policy = SafelistPolicy(entry.get("policy", "open"))
    except ValueError:
        choices = [p.value for p in SafelistPolicy]
        raise ApiKeysError(f"{where}: `policy` must be one of {choices}.") from None
    budget = entry.get("query_budget")
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise ApiKeysError(f"{where}: `query_budget` must be a whole number of at least 1.")
    introspection = entry.get("introspection")
    if introspection is not None and not isinstance(introspection, bool):
        raise ApiKeysError(f"{where}: `introspection` must be true or false.")
    return ApiKey(
        name=name,
        digest=digest,
        account=None if account is None else str(account),
        token=token,
        policy=policy,
        query_budget=budget,
        introspection=introspection,
    )


class Authenticator:
    """``await authenticator(request, (account, token))`` → the Caller, or ``Unauthenticated``.

    ``server_credential`` is the server's own Kickserv account and token (the sandbox's in sandbox
    mode); keys without an account of their own and open mode use it.
    """

    def __init__(self, settings: Settings, keys: ApiKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.default_policy = SafelistPolicy(settings.safelist)
        introspection = settings.introspection
        self.default_introspection = keys is None if introspection is None else introspection
        self._anonymous: Caller | None = None

    @property
    def open(self) -> bool:
        return self.keys is None and not self.settings.pass_through

    def __call__(self, request: Request, server_credential: tuple[str, str]) -> Caller:
        headers = request.headers
        passing_through.set(False)  # in-process transports may reuse one task for many requests
        presented = None if self.keys is None else _presented_key(headers)
        if self.keys is not None and presented is not None:
            key = self.keys.find(presented)
            if key is None:
                raise Unauthenticated("The API key is not valid.")
            return self._caller_of(key, server_credential)
        if self.settings.pass_through and ACCOUNT_HEADER in headers and TOKEN_HEADER in headers:
            account, token = headers[ACCOUNT_HEADER].strip(), headers[TOKEN_HEADER].strip()
            if not account or not token:
                raise Unauthenticated(
                    f"Pass-through needs a non-empty {ACCOUNT_HEADER} and {TOKEN_HEADER}."
                )
            check_pass_through(account, token)
            passing_through.set(True)
            return self._default_caller("pass-through", account, token)
        if self.open:
            anonymous = self._anonymous  # one caller, not one per request
            if anonymous is None or (anonymous.account, anonymous.token) != server_credential:
                anonymous = self._anonymous = self._default_caller("anonymous", *server_credential)
            return anonymous
        raise Unauthenticated(self._missing_message())

    def _caller_of(self, key: ApiKey, server_credential: tuple[str, str]) -> Caller:
        account, token = server_credential
        if key.account is not None and key.token is not None:
            account, token = key.account, key.token
        return Caller(
            name=key.name,
            account=account,
            token=token,
            policy=key.policy,
            query_budget=key.query_budget or self.settings.query_budget,
            introspection=(
                self.default_introspection if key.introspection is None else key.introspection
            ),
        )

    def _default_caller(self, name: str, account: str, token: str) -> Caller:
        return Caller(
            name=name,
            account=account,
            token=token,
            policy=self.default_policy,
            query_budget=self.settings.query_budget,
            introspection=self.default_introspection,
        )

    def _missing_message(self) -> str:
        ways = []
        if self.keys is not None:
            ways.append("an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`)")
        if self.settings.pass_through:
            ways.append(f"your Kickserv account and token ({ACCOUNT_HEADER}, {TOKEN_HEADER})")
        return "Authentication required: send " + " or ".join(ways) + "."


passing_through: ContextVar[bool] = ContextVar("kickserv_graph_pass_through", default=False)
"""True while serving a pass-through caller: Kickserv's 401 is then the caller's mistake."""


def map_refused_pass_through(exc: BaseException) -> GraphError | None:
    """Kickserv refusing a pass-through credential is ``UNAUTHENTICATED``, not our outage.

    Register it before the general Kickserv mapper (which blames the server's configuration).
    """
    if isinstance(exc, Unauthorized) and passing_through.get():
        return Unauthenticated(
            "Kickserv refused the account and token sent in X-Kickserv-Account and "
            "X-Kickserv-Token."
        )
    return None


ACCOUNT_SLUG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})")
"""A Kickserv account slug as it may stand in ``app.kickserv.com/SLUG/api/v2``: letters, digits and
dashes, starting with a letter or digit, at most 63 characters. Nothing else reaches a URL."""
MAX_TOKEN_LENGTH = 256
_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_TOKEN_LENGTH}}}")  # printable ASCII, no blanks


def check_pass_through(account: str, token: str) -> None:
    """A pass-through account must be a slug (``demo/../acme`` or ``demo?x=1`` would change the
    upstream URL) and a token printable ASCII of bounded length: 400 ``BAD_REQUEST`` otherwise.
    The token is never quoted back."""
    if not ACCOUNT_SLUG.fullmatch(account):
        raise BadRequest(
            f"{ACCOUNT_HEADER} must be a Kickserv account slug (letters, digits and dashes, at "
            f"most 63 characters), got {quoted(account)}."
        )
    if not _TOKEN.fullmatch(token):
        raise BadRequest(
            f"{TOKEN_HEADER} must be a Kickserv API token: printable ASCII without spaces, at most "
            f"{MAX_TOKEN_LENGTH} characters."
        )


def _presented_key(headers: Mapping[str, str]) -> str | None:
    explicit = headers.get(API_KEY_HEADER)
    if explicit is not None:
        return explicit.strip()
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def caller_of(request: Request) -> Caller:
    """The caller ``GraphQLEndpoint`` authenticated for this request (its ``state``'s caller)."""
    caller: Caller | None = state_of(request).get("caller")
    if caller is None:
        raise RuntimeError(
            "No caller on this request: the endpoint's authenticate hook did not run."
        )
    return caller
