"""``_base_ = 'mmowp::<path under configs/>'`` in a config outside the checkout.

MMEngine 0.10.7 resolves ``pkg::path`` bases only for the packages of its table
``mmengine.config.utils.MODULE2PACKAGE`` (alias ``PKG2PROJECT``) and asserts "mmengine does not
support to load mmowp config" for any other. :func:`register_mmowp_config_scope` adds
``mmowp`` to that table; ``import mmowp`` calls it, and so do ``tools/train.py``,
``tools/test.py`` and ``tools/propose.py`` (which ``mim train/test mmowp`` run) before they
read a config. MMEngine then finds the base at the installed distribution's location,
``<location>/mmowp/.mim/configs/<path>`` (copies in a wheel install, links to the checkout in
a develop install), after reading ``mmowp/.mim/model-index.yml``: a path that names no model
there is looked up as a file. The dicts inherited that way get ``_scope_='mmowp'``, which
:mod:`mmowp.registry` serves.

A script that reads such a config itself (``Config.fromfile``, ``DetInferencer``) must
``import mmowp`` first: MMEngine parses the file before it runs its ``custom_imports``.
"""


def register_mmowp_config_scope() -> None:
    """Add ``mmowp`` to MMEngine's package table of ``pkg::`` config paths (idempotent)."""
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault('mmowp', 'mmowp')
    if utils.PKG2PROJECT is not utils.MODULE2PACKAGE:  # separate tables in other versions
        utils.PKG2PROJECT.setdefault('mmowp', 'mmowp')
