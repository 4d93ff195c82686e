"""Loading the demo operator into a real database (both backends)."""

from __future__ import annotations

from datetime import date

from argon2 import PasswordHasher

from subreg.bootstrap import demo_jpegs
from subreg.services import registry
from subreg.services.registry import demo_data

AS_OF = date(2018, 3, 15)


def load(container, *, count: int, seed: int):
    return demo_data.load_demo(
        container.uow(), vault=container.vault, blobs=container.blobs, rule_set=container.rule_set,
        jpegs=demo_jpegs(seed), count=count, seed=seed, as_of=AS_OF,
    )  # fmt: skip


class TestLoadDemo:
    def test_loads_points_of_sale_staff_and_subscriptions_once(self, container):
        assert demo_data.is_empty(container.uow())
        logins = load(container, count=150, seed=4)
        assert not demo_data.is_empty(container.uow())
        assert {role for role, _user, _pw in logins} == {role for role, *_ in demo_data.DEMO_STAFF}
        with container.uow() as uow:
            assert uow.subscriptions.count() == 150
            assert len(uow.points_of_sale.list_all()) == len(demo_data.DEMO_POINTS_OF_SALE)
            for _role, username, password in logins:
                member = uow.staff.get_by_username(username)
                assert member.password_hash.startswith("$argon2")
                assert password not in member.password_hash
                assert PasswordHasher().verify(member.password_hash, password)
        # Loading again keeps existing accounts and their passwords, and adds no duplicate numbers.
        again = load(container, count=150, seed=4)
        assert {pw for _r, _u, pw in again} == {"(unchanged)"}
        with container.uow() as uow:
            assert uow.subscriptions.count() == 150

    def test_complete_records_come_with_real_encrypted_images(self, container):
        load(container, count=60, seed=9)
        with container.uow() as uow:
            complete = [r.msisdn for r in uow.subscriptions.list_by_holders(list(range(1, 200))) if r.complete]
            assert complete
            docs = [d for d in uow.documents.list_for(uow.subscriptions.get(complete[0]).id) if d.blob_key]
            assert {d.kind for d in docs} >= {"portrait"}
            for doc in docs:
                assert not container.blobs.get(doc.blob_key).startswith(b"\xff\xd8")
                content_type, data = registry.read_document(
                    doc.id, uow=uow, vault=container.vault, blobs=container.blobs
                )
                assert content_type == "image/jpeg"
                assert data.startswith(b"\xff\xd8\xff")
                assert 500 < len(data) < 20_000
            record = registry.get_subscription(complete[0], uow=uow, vault=container.vault)
        assert record["documents"]["portrait"].startswith("document:")
