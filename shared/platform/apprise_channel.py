"""Sending through Apprise (group robots, SMS gateways), under a message's one id.

Shared by every service that sends: notify (the office's people) and intake (reporters, whose
phone only intake can unseal). An Apprise URL holds the provider's credentials: a secret,
never logged; refusals name what went wrong, never the URL.
"""

from __future__ import annotations

from urllib.parse import quote

import apprise

from shared.platform.sending import DeliveryFailed
from shared.platform.settings import ConfigurationError, NotifySettings

IDEMPOTENCY_HEADER = "Idempotency-Key"
PHONE = "{phone}"  # where ``sms_url`` takes the recipient's number
SAMPLE_PHONE = "+8613800000000"  # what the start-up check instantiates the template with


def through_apprise(
    url: str, message_id: str, channel: str, *, body: str, title: str, timeout: float
) -> None:
    """One message through an Apprise URL, under its one id where the plugin sends HTTP
    headers; ``<channel>_url_invalid`` / ``<channel>_refused`` when it cannot."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise DeliveryFailed(f"{channel}_url_invalid")
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers[IDEMPOTENCY_HEADER] = message_id
    plugin.socket_read_timeout = timeout
    if not plugin.notify(body=body, title=title):
        raise DeliveryFailed(f"{channel}_refused")


def send_sms(config: NotifySettings, message_id: str, phone: str | None, text: str) -> None:
    """A text message to ``phone`` through the deployment's ``sms_url``."""
    if config.sms_url is None:
        raise DeliveryFailed("sms_not_configured")
    if not phone:
        raise DeliveryFailed("no_address")
    url = config.sms_url.get_secret_value().replace(PHONE, quote(phone, safe=""))
    through_apprise(
        url, message_id, "sms", body=text, title="", timeout=config.send_timeout_seconds
    )


def check_sms_url(config: NotifySettings) -> None:
    """Refuse at start an ``sms_url`` without ``{phone}`` or one Apprise cannot read (the
    message says which, never the URL: it holds the provider's credentials)."""
    if config.sms_url is None:
        return
    template = config.sms_url.get_secret_value()
    if PHONE not in template:
        raise ConfigurationError(
            "TAIZHANG_NOTIFY sms_url must hold {phone} where the person's number goes, "
            "e.g. json://sms-gw.example/send?-to={phone}"
        )
    sample = template.replace(PHONE, quote(SAMPLE_PHONE, safe=""))
    if apprise.Apprise.instantiate(sample, suppress_exceptions=True) is None:
        raise ConfigurationError(
            "TAIZHANG_NOTIFY sms_url is not an Apprise URL it can send with "
            "(check its scheme, credentials and sender number)"
        )
