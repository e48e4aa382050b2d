package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// Event types.
const (
	// TypeProvision asks the receiver to give the member a seat on the team.
	TypeProvision = "seat.provision"
	// TypeDeprovision asks the receiver to take the member's seat away.
	TypeDeprovision = "seat.deprovision"
	// TypePing is the health check: the receiver answers 2xx and does
	// nothing else.
	TypePing = "ping"
)

// Headers of every delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	SignatureHeader = "Berth-Signature"
	// IdempotencyHeader carries Event.ID.
	IdempotencyHeader = "Idempotency-Key"
	// EventHeader carries Event.Type.
	EventHeader = "Berth-Event"
	// DeliveryHeader carries Event.Delivery.
	DeliveryHeader = "Berth-Delivery"
)

// Event is the JSON body of a delivery:
//
//	{"id":"evt_…","type":"seat.provision","created":1767225600,
//	 "delivery":"dlv_…","data":{"member":"user@example.com","pool":"team-7"}}
type Event struct {
	// ID is the idempotency key (also sent as Idempotency-Key): the same
	// for every attempt to deliver one operation, so that a receiver can
	// tell a retry from a new operation. See EventID.
	ID string `json:"id"`
	// Type is TypeProvision, TypeDeprovision or TypePing.
	Type string `json:"type"`
	// Created is when this attempt was signed, in Unix seconds; it equals
	// the t of the signature.
	Created int64 `json:"created"`
	// Delivery is unique to each attempt (also sent as Berth-Delivery).
	// A receiver that sees one twice is being sent a replayed request.
	Delivery string `json:"delivery"`
	// Data says whom the event is about.
	Data Data `json:"data"`
}

// Data is the subject of an event.
type Data struct {
	// Member is the user's e-mail address; empty for pings.
	Member string `json:"member,omitempty"`
	// Pool is the name of the team in berth.
	Pool string `json:"pool"`
}

// EventID returns the idempotency key of an operation: "evt_" and 32 hex
// digits of SHA-256 over the event type, the pool name and the member. berth
// has no other identity for one provisioning (a provider sees the member,
// not the seat), so every attempt of the same operation carries the same key
// and retries dedupe at the receiver, while a provision and the deprovision
// that follows it differ. The key of a member provisioned again after a
// deprovision is the same as the first time: receivers should remember only
// the last key per member (see docs/webhooks.md), not every key forever.
func EventID(typ, pool, member string) string {
	h := sha256.Sum256([]byte("berth-webhook-v1\x00" + typ + "\x00" + pool + "\x00" + member))
	return "evt_" + hex.EncodeToString(h[:16])
}

// randomID returns prefix and 32 random hex digits.
func randomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return prefix + hex.EncodeToString(b[:])
}
