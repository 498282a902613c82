"""Test helpers for experiment scripts: an in-memory transport.

``FakeTransport`` plays the hosts: pass it as ``transport=`` to any remote process or action
and script what each host answers (output, exit codes, delays, unreachable hosts, signals it
ignores), then check what was asked (``requests``, ``signals``)::

    from execo import Remote
    from execo.testing import FakeTransport, Reply

    fake = FakeTransport({"node-3": Reply(unreachable="Connection refused")},
                         default=Reply(stdout="up 3 days\\n"))
    r = await Remote("uptime", ["node-1", "node-2", "node-3"], transport=fake).run()
    assert [p.ok for p in r.processes] == [True, True, False]
"""

from ._fake import Emit as Emit
from ._fake import FakeTransport as FakeTransport
from ._fake import Handler as Handler
from ._fake import Reply as Reply
from ._fake import SignalRecord as SignalRecord

__all__ = ["Emit", "FakeTransport", "Handler", "Reply", "SignalRecord"]
