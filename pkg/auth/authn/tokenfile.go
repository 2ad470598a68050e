package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/kstack/kstack/pkg/auth"
)

// TokenFile authenticates the static bearer tokens of --token-auth-file.
// It implements both TokenAuthenticator and auth.Authenticator.
type TokenFile struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	user   auth.User
}

var (
	_ TokenAuthenticator = (*TokenFile)(nil)
	_ auth.Authenticator = (*TokenFile)(nil)
)

// NewTokenFile reads a token file in upstream's CSV format, one token per
// line: token,user,uid[,"group1,group2"]. Lines with an empty token are
// skipped; a later line with the same token wins, as upstream.
func NewTokenFile(path string) (*TokenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token auth file: %w", err)
	}
	tf, err := ParseTokenFile(data)
	if err != nil {
		return nil, fmt.Errorf("token auth file %s: %w", path, err)
	}
	return tf, nil
}

// ParseTokenFile parses token file content (see NewTokenFile).
func ParseTokenFile(data []byte) (*TokenFile, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	byToken := map[string]int{}
	tf := &TokenFile{}
	for line := 1; ; line++ {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		if len(record) < 3 {
			return nil, fmt.Errorf("record %d must have at least 3 columns (token, user name, user uid), found %d", line, len(record))
		}
		if record[0] == "" {
			continue
		}
		u := auth.User{Name: record[1], UID: record[2]}
		if len(record) >= 4 && record[3] != "" {
			u.Groups = strings.Split(record[3], ",")
		}
		e := tokenEntry{digest: sha256.Sum256([]byte(record[0])), user: u}
		if i, dup := byToken[record[0]]; dup {
			tf.entries[i] = e
			continue
		}
		byToken[record[0]] = len(tf.entries)
		tf.entries = append(tf.entries, e)
	}
	return tf, nil
}

// AuthenticateToken implements TokenAuthenticator. Every entry is compared
// in constant time, so the time taken says nothing about which bytes of a
// guess were right. An unknown token is ok=false: it may be another
// authenticator's.
func (t *TokenFile) AuthenticateToken(_ context.Context, token string) (*auth.User, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(d[:], t.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false, nil
	}
	u := t.entries[found].user
	u.Groups = append([]string(nil), u.Groups...)
	return &u, true, nil
}

// AuthenticateRequest implements auth.Authenticator for the request's
// bearer token.
func (t *TokenFile) AuthenticateRequest(r *http.Request) (*auth.User, bool, error) {
	return TokenRequestAuthenticator(t).AuthenticateRequest(r)
}
