"""Crash points for fault-injection tests (issue 11): a process started with
``TAIZHANG_FAULTS=relay_exit_after_publish`` dies exactly between two steps whose order the
backbone's guarantees depend on. Refused in production mode (see ``shared.platform.settings``)."""

from __future__ import annotations

import os
import sys

RELAY_EXIT_AFTER_PUBLISH = "relay_exit_after_publish"  # published + acked, position not saved
CONSUMER_EXIT_AFTER_COMMIT = "consumer_exit_after_commit"  # effect committed, message not acked
NOTIFY_EXIT_AFTER_SEND = "notify_exit_after_send"  # message sent, its delivery not recorded
# intake's text to a reporter sent, its delivery not recorded (ADR 37)
REPORTER_SMS_EXIT_AFTER_SEND = "reporter_sms_exit_after_send"
# clean-kept's cleaned blob kept, its case's Case.AttachmentCleaned not recorded (ADR 42)
CLEAN_KEPT_EXIT_AFTER_KEEP = "clean_kept_exit_after_keep"
KNOWN = frozenset(
    {
        RELAY_EXIT_AFTER_PUBLISH,
        CONSUMER_EXIT_AFTER_COMMIT,
        NOTIFY_EXIT_AFTER_SEND,
        REPORTER_SMS_EXIT_AFTER_SEND,
        CLEAN_KEPT_EXIT_AFTER_KEEP,
    }
)


def crash_if(point: str, armed: frozenset[str]) -> None:
    if point in armed:
        sys.stderr.write(f"fault injected: {point}\n")
        sys.stderr.flush()
        os._exit(70)
