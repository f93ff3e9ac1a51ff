"""What the inbox's JSON API takes and gives (pydantic models; they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.channels.gsm import MAX_BODY
from gateway.handoff import OUTCOMES


class Named(BaseModel):
    id: int
    slug: str
    name: str


class LanguageOut(BaseModel):
    code: str | None
    name: str


class UnreachableOut(BaseModel):
    reason: Literal["ended_chat", "stop"] = Field(
        description="ended_chat: a web resident pressed the chat's end button; stop: the resident opted out"
    )
    since: datetime | None = Field(description="When they left (None: not known)")


class HandoffSummary(BaseModel):
    id: int
    status: Literal["open", "claimed", "closed"]
    hub: Named | None = Field(description="None only for a crisis whose hub is not known yet (admins only)")
    crisis: str | None = Field(description="The kind of crisis the resident wrote about, if any")
    language: LanguageOut
    topic: str | None
    area: str | None
    channel: str
    created_at: datetime
    claimed_by: str | None
    claimed_by_id: int | None
    claimed_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    waiting_since: datetime | None = Field(description="Since when the resident waits for a coordinator")
    waiting_seconds: int | None
    unreachable: UnreachableOut | None = Field(
        description="Set when the resident left: replies are refused (409) and closing sends no goodbye"
    )
    url: str


class MessageOut(BaseModel):
    id: int
    direction: Literal["in", "out"]
    sender: str
    sender_label: str
    body: str
    buttons: list[str]
    language: str | None
    status: str
    delivery_failed: bool
    error: str | None
    created_at: datetime
    in_this_handoff: bool


class ResidentOut(BaseModel):
    channel: str
    contact: str = Field(description="Masked: never the full number")
    language: LanguageOut
    opted_out: bool


class HandoffDetail(HandoffSummary):
    summary: str | None
    resident: ResidentOut
    messages: list[MessageOut]
    failed_deliveries: int


class ReplyIn(BaseModel):
    body: str = Field(max_length=MAX_BODY * 2, description=f"At most {MAX_BODY} characters after trimming")


class ReassignIn(BaseModel):
    hub: str = Field(description="The slug of the hub to move the handoff to")


class CloseIn(BaseModel):
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]


class Me(BaseModel):
    id: int
    name: str
    email: str
    role: str
    hub_id: int | None
    hub_name: str | None
    must_change_password: bool = Field(
        description="Signed in with a one-time password: until it is changed "
        "(POST /api/me/password), everything else answers 403"
    )


class PasswordIn(BaseModel):
    current: str = Field(max_length=200)
    new: str = Field(max_length=200)


class PasswordChanged(BaseModel):
    csrf: str = Field(description="The session's new CSRF token: send it from now on")


class AuditLine(BaseModel):
    id: int
    at: datetime
    actor_id: int | None = Field(description="The coordinator; None for the gateway's own jobs")
    actor_name: str | None
    action: str = Field(
        description="read_conversation (a handoff's conversation was shown to the actor), erase (an admin "
        "erased a resident), erase_keyword (a resident erased their own data by SMS), retention (the "
        "retention job deleted rows), second_factor_on / second_factor_off (an account switched its second "
        "sign-in step), second_factor_reset (an admin, or the command line with no actor, reset an account's "
        "step), second_factor_wrong (a wrong code at sign-in), recovery_code_used, recovery_codes_new"
    )
    handoff_id: int | None
    resident_id: int | None
    coordinator_id: int | None = Field(description="An account acted on")
    count: int | None = Field(description="How many records a job touched")


class AuditPage(BaseModel):
    items: list[AuditLine]
    next: int | None = Field(description="Pass as ``before`` for the next page; None on the last")


class HubOut(BaseModel):
    id: int
    slug: str
    name: str
    municipality: str


class CoordinatorOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    hub: str | None
    hub_name: str | None
    phone: str | None
    on_duty: bool
    active: bool
    locked: bool


class CoordinatorIn(BaseModel):
    name: str
    email: str
    role: Literal["coordinator", "admin"] = "coordinator"
    hub: str | None = None
    phone: str | None = None
    on_duty: bool = True


class CoordinatorCreated(CoordinatorOut):
    one_time_password: str = Field(description="Shown only in this response")


class CoordinatorChange(BaseModel):
    name: str | None = None
    role: Literal["coordinator", "admin"] | None = None
    hub: str | None = None
    phone: str | None = None
    on_duty: bool | None = None
    active: bool | None = None


class EraseIn(BaseModel):
    confirm: Literal[True] = Field(description="true: the resident asked in person, and you checked it is them")


class ErasedOut(BaseModel):
    messages: int
    handoffs: int
    tracker_events: int
