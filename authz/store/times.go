package store

import (
	"database/sql"
	"fmt"
	"time"
)

// timeLayout is how times are stored: UTC, fixed width, to the nanosecond. Fixed width
// makes text order time order, so SQL can compare stored times.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// encodeTime renders t in timeLayout. Years outside 0-9999 would break the fixed width.
func encodeTime(t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s: year out of range 0-9999", t)
	}
	return u.Format(timeLayout), nil
}

// decodeTime parses a stored time; the result is in UTC.
func decodeTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time: %w", err)
	}
	return t, nil
}

// decodeNullTime is decodeTime with NULL read as the zero time.
func decodeNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return decodeTime(s.String)
}
