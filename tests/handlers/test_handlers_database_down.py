"""While the database cannot be reached, every message gets "try again" and the log one line for it, not a
traceback per request (a PostgreSQL restart under load would otherwise fill the log)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import replace

from handler_helpers import dm, signed_click, signed_submission

from handlers import actions, texts


def _failing_transaction(error: Exception):
    @asynccontextmanager
    async def transaction():
        raise error
        yield

    return transaction


async def test_a_database_that_is_down_costs_one_line_per_request_and_the_person_is_told(core, monkeypatch, caplog):
    monkeypatch.setattr(core.database, "transaction", _failing_transaction(ConnectionRefusedError("connection refused")))
    caplog.set_level(logging.DEBUG)
    [reply] = await core.handle(dm(click=signed_click(core, actions.START_REPORT)))
    assert reply.text == texts.SOMETHING_WENT_WRONG.format(headteacher="Mrs Patel")
    [record] = [r for r in caplog.records if r.name == "handlers.core"]
    assert record.levelno == logging.WARNING and record.exc_info is None


async def test_any_other_failure_still_logs_its_traceback(core, monkeypatch, caplog):
    monkeypatch.setattr(core.database, "transaction", _failing_transaction(RuntimeError("a bug")))
    caplog.set_level(logging.DEBUG)
    await core.handle(dm(click=signed_click(core, actions.START_REPORT)))
    [record] = [r for r in caplog.records if r.name == "handlers.core"]
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_a_form_that_could_not_be_saved_says_so(core, monkeypatch):
    monkeypatch.setattr(core.database, "transaction", _failing_transaction(ConnectionRefusedError("connection refused")))
    form = signed_submission(core, actions.REPORT_FORM, what="A parent keeps messaging me", kind="harassment_me", identity="anonymous")
    [reply] = await core.handle(replace(dm(), form=form))
    assert reply.text == texts.FORM_NOT_SAVED.format(headteacher="Mrs Patel")
