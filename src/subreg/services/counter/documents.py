"""Viewing a stored document image at the counter (permission, purpose, scope; audited)."""

from __future__ import annotations

from subreg.domain.access.permissions import Actor, Permission
from subreg.domain.common.errors import FieldError, NotFoundError
from subreg.domain.privacy.audit_chain import AuditAction
from subreg.services.counter._shared import audit, refuse_if_restricted, require_for
from subreg.services.counter.commands import ViewDocumentImage
from subreg.services.counter.context import CounterContext
from subreg.services.counter.ports import CounterUnitOfWork

__all__ = ["view_document_image"]


def view_document_image(
    cmd: ViewDocumentImage, *, uow: CounterUnitOfWork, ctx: CounterContext, actor: Actor
) -> tuple[str, bytes]:
    """Content type and bytes of a stored image; needs `document:view_image` for the purpose, audited."""
    with uow:
        uow.lock_for_write()
        doc = uow.documents.get(cmd.document_id)
        if doc is None or not doc.blob_key:
            raise NotFoundError("document not found", errors=[FieldError("document_id", "not_found")])
        sub = uow.subscriptions.get_by_id(doc.subscription_id)
        if sub is None:
            raise NotFoundError("document not found", errors=[FieldError("document_id", "not_found")])
        require_for(uow, ctx, actor, Permission.DOCUMENT_VIEW_IMAGE, cmd.purpose, sub)
        refuse_if_restricted(uow, sub)
        content_type, data = ctx.registry.read_document(cmd.document_id, uow=uow)
        audit(uow, ctx, actor, AuditAction.DOCUMENT_IMAGE_VIEWED, sub, fields=(f"documents.{doc.kind}",),
              purpose=cmd.purpose, details={"document_id": doc.id})  # fmt: skip
        uow.commit()
    return content_type, data
