"""Authentication with governance on: the master key, virtual keys from the directory, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchgear.config.model import GovernanceSettings
from switchgear.core.errors import AuthenticationFailed
from switchgear.engine.auth import Authenticator
from switchgear.keys.directory import KeyDirectory
from switchgear.keys.material import digest, display_prefix, new_key
from switchgear.storage import Database
from switchgear.storage.keys import create_key
from switchgear.storage.rows import utcnow

MASTER = "sk-master-0123456789"


async def test_virtual_keys_resolve_to_their_principal(db: Database) -> None:
    key, other = new_key(), new_key()
    made = await create_key(db, key_hash=digest(key), key_prefix=display_prefix(key), user_id=None)
    expired = await create_key(
        db,
        key_hash=digest(other),
        key_prefix=display_prefix(other),
        expires_at=utcnow() - timedelta(seconds=1),
    )
    directory = KeyDirectory(db, GovernanceSettings())
    await directory.load()
    auth = Authenticator(MASTER, directory)
    assert auth.authenticate(b"Bearer " + MASTER.encode(), None).is_admin
    principal = auth.authenticate(b"Bearer " + key.encode(), None)
    assert (principal.key_id, principal.is_admin) == (made.id, False)
    assert auth.authenticate(None, key.encode()).key_id == made.id
    with pytest.raises(AuthenticationFailed) as caught:
        auth.authenticate(b"Bearer " + other.encode(), None)
    assert "expired" in caught.value.message and other not in caught.value.message
    assert expired.id not in caught.value.message
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for token in (new_key(), wrong_secret, "sk-sg-", "' OR 1=1--"):
        with pytest.raises(AuthenticationFailed) as caught:
            auth.authenticate(b"Bearer " + token.encode(), None)
        assert caught.value.message == "invalid API key"  # the same for every unknown token (A3)
