"""Talking to the council's OpenID Connect provider: discovery, the code exchange, ID tokens.

The authorisation code flow with PKCE (S256), through Authlib's OAuth 2 client. The ID
token is checked here, not trusted: its signature against the provider's published
keys, then its issuer, audience, expiry and nonce. Each refusal is a
:class:`SignInRefused` carrying a short reason code for the audit trail and a message
for the person.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from policies import NotAuthenticated
from webapp.settings import Settings

__all__ = [
    "ProviderMetadata",
    "SignInRefused",
    "authorization_url",
    "exchange_code",
    "provider_metadata",
]

#: Seconds a provider's discovery document and keys are used before being read again.
_METADATA_SECONDS = 3600
#: Clock difference allowed between this machine and the provider.
_LEEWAY_SECONDS = 60
_HTTP_TIMEOUT = 10
#: Asymmetric signatures only: never "none", never a secret shared with every client.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

_NOT_SIGNED_IN = (
    "Nobody was signed in. Start again from the sign-in page; tell IT if it happens again."
)


class SignInRefused(NotAuthenticated):
    """A single sign-on attempt that was refused.

    Args:
        message: What went wrong and what to do, for the person.
        reason: A short code for the audit trail (``wrong_issuer``, ``no_role``...).
        status_code: The HTTP status to answer with (401 unless given).
    """

    def __init__(self, message: str, reason: str, status_code: int = 401) -> None:
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code


@dataclass(frozen=True)
class ProviderMetadata:
    """What the provider's discovery document says, as far as carenotes uses it.

    Attributes:
        issuer: The provider's issuer, exactly as configured.
        authorization_endpoint: Where the browser is sent to sign in.
        token_endpoint: Where the code is exchanged for tokens.
        jwks_uri: The provider's public signing keys.
        userinfo_endpoint: Where missing claims can be read, if anywhere.
        end_session_endpoint: Where the browser is sent to sign out there too, if
            anywhere.
        token_auth_method: How the client secret is sent (``client_secret_basic`` or
            ``client_secret_post``).
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    token_auth_method: str = "client_secret_basic"  # noqa: S105 - a method's name


_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, ProviderMetadata, dict[str, Any]]] = {}


def _get_json(url: str, what: str, **kwargs: Any) -> Any:
    try:
        response = requests.get(url, timeout=_HTTP_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError):
        raise SignInRefused(
            f"The council's sign-in service could not be reached ({what}), so nobody was "
            "signed in. Try again in a few minutes; tell IT if it keeps happening.",
            "provider_unreachable",
            503,
        ) from None


def _read_metadata(settings: Settings) -> tuple[ProviderMetadata, dict[str, Any]]:
    issuer = settings.oidc_issuer
    doc = _get_json(f"{issuer}/.well-known/openid-configuration", "its settings")
    if not isinstance(doc, dict) or str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise SignInRefused(
            "The sign-in service's settings name another issuer than the one carenotes is "
            f"set up to trust (CARENOTES_OIDC_ISSUER). {_NOT_SIGNED_IN}",
            "wrong_issuer",
        )
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(doc.get("authorization_endpoint", "")),
        token_endpoint=str(doc.get("token_endpoint", "")),
        jwks_uri=str(doc.get("jwks_uri", "")),
        userinfo_endpoint=str(doc.get("userinfo_endpoint") or ""),
        end_session_endpoint=str(doc.get("end_session_endpoint") or ""),
        token_auth_method="client_secret_basic"
        if "client_secret_basic" in methods
        else "client_secret_post",
    )
    if not (metadata.authorization_endpoint and metadata.token_endpoint and metadata.jwks_uri):
        raise SignInRefused(
            "The sign-in service's settings lack an endpoint carenotes needs. " + _NOT_SIGNED_IN,
            "provider_unreachable",
            503,
        )
    return metadata, _get_json(metadata.jwks_uri, "its signing keys")


def provider_metadata(settings: Settings, refresh: bool = False) -> ProviderMetadata:
    """The provider's settings, read from its discovery document at most hourly.

    Raises:
        SignInRefused: The provider cannot be reached, or names another issuer.
    """
    return _cached(settings, refresh)[0]


def _cached(settings: Settings, refresh: bool) -> tuple[ProviderMetadata, dict[str, Any]]:
    with _cache_lock:
        found = _cache.get(settings.oidc_issuer)
        if found and not refresh and time.monotonic() - found[0] < _METADATA_SECONDS:
            return found[1], found[2]
    metadata, keys = _read_metadata(settings)
    with _cache_lock:
        _cache[settings.oidc_issuer] = (time.monotonic(), metadata, keys)
    return metadata, keys


def _client(settings: Settings, metadata: ProviderMetadata, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=metadata.token_auth_method,
    )


def authorization_url(
    settings: Settings,
    redirect_uri: str,
    state: str,
    nonce: str,
    verifier: str,
    **extra: str,
) -> str:
    """The provider's sign-in address for this attempt (code flow, PKCE S256, a nonce).

    Args:
        settings: The app's settings.
        redirect_uri: The callback address registered with the provider.
        state: The attempt's state.
        nonce: The nonce its ID token must carry.
        verifier: Its PKCE code verifier.
        **extra: More parameters of the request (``prompt="login"``, ``max_age="0"``).

    Raises:
        SignInRefused: The provider cannot be reached.
    """
    metadata = provider_metadata(settings)
    with _client(settings, metadata, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint,
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            **extra,
        )
    return str(url)


def exchange_code(
    settings: Settings, redirect_uri: str, code: str, verifier: str, nonce: str
) -> dict[str, Any]:
    """Exchange the code for tokens and return the checked claims of the ID token.

    Claims the ID token lacks (the groups or username claim) are read from the
    provider's userinfo endpoint when it has one.

    Raises:
        SignInRefused: The exchange failed, or the ID token is not signed by the
            provider, names another issuer or audience, has expired or carries
            another nonce.
    """
    metadata = provider_metadata(settings)
    with _client(settings, metadata, redirect_uri) as client:
        try:
            token = client.fetch_token(
                metadata.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=verifier,
                timeout=_HTTP_TIMEOUT,
            )
        except Exception:  # noqa: BLE001 - Authlib's and requests' errors alike
            raise SignInRefused(
                "The sign-in service did not accept this sign-in (the code could not be "
                f"exchanged). {_NOT_SIGNED_IN}",
                "token_exchange_failed",
            ) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused(
            f"The sign-in service sent no ID token. {_NOT_SIGNED_IN}", "no_id_token"
        )
    claims = _checked_claims(settings, id_token, nonce)
    wanted = (settings.oidc_groups_claim, settings.oidc_username_claim)
    if metadata.userinfo_endpoint and any(name not in claims for name in wanted):
        extra = _get_json(
            metadata.userinfo_endpoint,
            "its userinfo",
            headers={"Authorization": f"Bearer {token.get('access_token', '')}"},
        )
        if isinstance(extra, dict) and extra.get("sub") == claims["sub"]:
            claims = {**extra, **claims}
    return claims


def _decode(settings: Settings, id_token: str) -> dict[str, Any]:
    for refresh in (False, True):  # keys are read again once: the provider may have rotated
        keys: Any = _cached(settings, refresh)[1]
        try:
            return dict(jwt.decode(id_token, KeySet.import_key_set(keys), _ALGORITHMS).claims)
        except (JoseError, ValueError, KeyError, TypeError):
            continue
    raise SignInRefused(
        f"The ID token is not signed by the council's sign-in service. {_NOT_SIGNED_IN}",
        "bad_signature",
    )


def _checked_claims(settings: Settings, id_token: str, nonce: str) -> dict[str, Any]:
    claims = _decode(settings, id_token)
    if claims.get("iss") != settings.oidc_issuer:
        raise SignInRefused(
            "The ID token was issued by another sign-in service than the one carenotes is "
            f"set up to trust. {_NOT_SIGNED_IN}",
            "wrong_issuer",
        )
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if settings.oidc_client_id not in audiences or (
        len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id
    ):
        raise SignInRefused(
            f"The ID token was issued for another application, not carenotes. {_NOT_SIGNED_IN}",
            "wrong_audience",
        )
    now = time.time()
    expires = claims.get("exp")
    issued = claims.get("iat")
    if not isinstance(expires, int | float) or expires + _LEEWAY_SECONDS < now:
        raise SignInRefused(f"The ID token has expired. {_NOT_SIGNED_IN}", "expired")
    if isinstance(issued, int | float) and issued - _LEEWAY_SECONDS > now:
        raise SignInRefused(
            "The ID token was issued in the future: this machine's clock or the sign-in "
            f"service's is wrong. {_NOT_SIGNED_IN}",
            "expired",
        )
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SignInRefused(
            f"The ID token does not belong to this sign-in attempt (its nonce differs). "
            f"{_NOT_SIGNED_IN}",
            "bad_nonce",
        )
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInRefused(
            f"The ID token does not say who signed in. {_NOT_SIGNED_IN}", "no_subject"
        )
    return claims
