"""``kiosk hq …``: HQ's commands, beside :mod:`sync.hq` (the repository, store, server, rollouts and console).

One module per command group: ``repository`` (init, add, publish, resign,
serve, fleet), ``commands`` (enrol, revoke, kiosks, labels, add-user),
``train``, ``rollout``. The ``kiosk`` command adds them with :func:`register`.
Every command group, the kiosk's too, prints through :mod:`sync.hq_cli.output`
(``fail``, ``print_json``).
A sibling of ``sync/hq/`` rather than inside it: importing ``sync.hq`` loads
python-tuf, the web server and the store (about 0.6 s), and every ``kiosk``
command imports this package, so :mod:`sync.hq` is imported inside the
commands only.
"""

from sync.hq_cli.group import register
from sync.hq_cli.options import DbUrlOpt, store_url
from sync.hq_cli.output import fail, print_json

__all__ = ["DbUrlOpt", "fail", "print_json", "register", "store_url"]
