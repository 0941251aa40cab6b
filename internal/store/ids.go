package store

import (
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Ids of events and deliveries are UUIDv7 made at their creation time, so
// their byte order is their time order: the primary key doubles as the
// "newest first" order of the delivery log and as the age index retention
// walks, and no created_at index has to be kept up to date on every write.

// NewID returns a UUIDv7 whose timestamp is at (millisecond precision) and
// whose other 74 bits are random.
func NewID(at time.Time) (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, err
	}
	setMillis(&id, at)
	return id, nil
}

// MinID is the smallest UUIDv7 of the millisecond of at: every id made at or
// after at compares greater or equal (bytewise, as both stores compare them).
func MinID(at time.Time) uuid.UUID {
	var id uuid.UUID
	setMillis(&id, at)
	id[6] = 0x70 // version 7, zero random bits
	id[8] = 0x80 // RFC 9562 variant
	return id
}

// IDAfter is the smallest id after id in byte order: a cursor that resumes
// at (time, IDAfter(id)) inclusive resumes just after the row it stopped at.
// The largest id wraps to zero; a UUIDv7 is never that large.
func IDAfter(id uuid.UUID) uuid.UUID {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]++
		if id[i] != 0 {
			return id
		}
	}
	return id
}

func setMillis(id *uuid.UUID, at time.Time) {
	ms := at.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	copy(id[0:6], b[2:8])
}
