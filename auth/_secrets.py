"""Secret references in scenarios.yaml: AWS SSM Parameter Store and Secrets Manager.

``${ssm:NAME}`` reads a parameter (decrypted when it is a ``SecureString``);
``${secretsmanager:ID}`` reads a secret's ``SecretString``, and
``${secretsmanager:ID#KEY}`` the string at ``KEY`` of a secret that holds a JSON object.
``NAME`` and ``ID`` may be plain names or ARNs. The region is the ARN's, else
``AWS_REGION`` / ``AWS_DEFAULT_REGION`` of the environment given, else ``us-east-1``; the
endpoint is ``AWS_ENDPOINT_URL_SSM`` / ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` /
``AWS_ENDPOINT_URL`` when set (as botocore reads them), else AWS's own.

Values are fetched once per :class:`SecretStore` and never appear in an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal

from loadgate.errors import ConfigError

__all__ = ["SECRET_SOURCES", "SecretSource", "SecretStore"]

logger = logging.getLogger(__name__)

SecretSource = Literal["ssm", "secretsmanager"]
SECRET_SOURCES: tuple[SecretSource, ...] = ("ssm", "secretsmanager")
"""The sources a ``${source:reference}`` may name."""

_SERVICES: dict[SecretSource, tuple[str, str]] = {
    # source: (boto3 service name, service-specific endpoint variable)
    "ssm": ("ssm", "AWS_ENDPOINT_URL_SSM"),
    "secretsmanager": ("secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
}
ClientFactory = Callable[[str, str, str | None], Any]


class SecretStore:
    """Fetches secret values for ``${ssm:...}`` and ``${secretsmanager:...}``.

    Args:
        env: Where the region and endpoint variables are looked up.
        make_client: Builds a boto3 client from (service, region, endpoint URL);
            boto3's own when None.
    """

    def __init__(
        self, env: Mapping[str, str], make_client: ClientFactory | None = None
    ) -> None:
        self._env = env
        self._make_client = make_client or _boto3_client
        self._values: dict[tuple[str, str, str | None], str] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def resolve(self, source: SecretSource, reference: str, key: str | None) -> str:
        """Return the secret a reference names, fetching it on first use.

        Args:
            source: ``ssm`` or ``secretsmanager``.
            reference: Parameter name, secret id, or an ARN of either.
            key: For Secrets Manager, the key inside a JSON secret; else None.

        Returns:
            The secret value.

        Raises:
            ConfigError: The secret cannot be read or has no such key; the message
                names the reference, never the value.
        """
        cache_key = (source, reference, key)
        if cache_key not in self._values:
            if source == "ssm":
                if key is not None:
                    raise ConfigError(
                        f"ssm parameter {reference!r}: '#{key}' is only for "
                        "Secrets Manager secrets that hold JSON"
                    )
                value = self._parameter(reference)
            else:
                value = self._secret(reference, key)
            self._values[cache_key] = value
            logger.debug("read secret reference %s:%s", source, reference)
        return self._values[cache_key]

    def _parameter(self, name: str) -> str:
        reply = self._fetch(
            "ssm", name, "get_parameter", {"Name": name, "WithDecryption": True}
        )
        value = reply.get("Parameter", {}).get("Value")
        if not isinstance(value, str):
            raise ConfigError(f"ssm parameter {name!r} has no value")
        return value

    def _secret(self, secret_id: str, key: str | None) -> str:
        reply = self._fetch(
            "secretsmanager", secret_id, "get_secret_value", {"SecretId": secret_id}
        )
        text = reply.get("SecretString")
        if not isinstance(text, str):
            raise ConfigError(
                f"secretsmanager secret {secret_id!r} holds binary data; "
                "expected a SecretString"
            )
        if key is None:
            return text

        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ConfigError(
                f"secretsmanager secret {secret_id!r} is not a JSON object, so "
                f"'#{key}' cannot be read from it"
            )
        value = data.get(key)
        if not isinstance(value, str):
            known = ", ".join(sorted(str(k) for k in data)) or "none"
            raise ConfigError(
                f"secretsmanager secret {secret_id!r} has no string at key {key!r}; "
                f"its keys: {known}"
            )
        return value

    def _fetch(
        self, source: SecretSource, reference: str, call: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        what = "parameter" if source == "ssm" else "secret"
        try:
            reply: dict[str, Any] = getattr(self._client(source, reference), call)(
                **params
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise ConfigError(
                f"{source} {what} {reference!r} cannot be read: "
                f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}"
            ) from None
        except BotoCoreError as exc:
            raise ConfigError(
                f"{source} {what} {reference!r} cannot be read: {exc}"
            ) from None
        return reply

    def _client(self, source: SecretSource, reference: str) -> Any:
        service, endpoint_variable = _SERVICES[source]
        region = _arn_region(reference) or (
            self._env.get("AWS_REGION")
            or self._env.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        if (service, region) not in self._clients:
            endpoint = self._env.get(endpoint_variable) or self._env.get(
                "AWS_ENDPOINT_URL"
            )
            self._clients[service, region] = self._make_client(
                service, region, endpoint or None
            )
        return self._clients[service, region]


def _arn_region(reference: str) -> str | None:
    parts = reference.split(":")
    if len(parts) > 4 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


def _boto3_client(service: str, region: str, endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=5,
        read_timeout=10,
    )
    return boto3.client(
        service, region_name=region, endpoint_url=endpoint, config=config
    )
