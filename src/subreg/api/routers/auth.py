"""API routes: Sign-in, sessions, tokens."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
