package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// continueToken is the opaque paging cursor, in upstream's shape.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueAPIVersion = "meta.k8s.io/v1"

// encodeContinue builds the token that resumes a list below keyPrefix at
// nextKey (a full key), read at revision rev.
func encodeContinue(nextKey, keyPrefix string, rev int64) (string, error) {
	out, err := json.Marshal(&continueToken{APIVersion: continueAPIVersion, ResourceVersion: rev,
		StartKey: strings.TrimPrefix(nextKey, keyPrefix)})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// decodeContinue returns the full key to start from and the revision.
func decodeContinue(token, keyPrefix string) (string, int64, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	if c.APIVersion != continueAPIVersion {
		return "", 0, fmt.Errorf("continue key is not valid: incorrect encoded start resourceVersion (version %s)", c.APIVersion)
	}
	if c.ResourceVersion == 0 {
		return "", 0, fmt.Errorf("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if len(c.StartKey) == 0 {
		return "", 0, fmt.Errorf("continue key is not valid: encoded start key empty")
	}
	// The start key must stay below the prefix: no path tricks.
	key := c.StartKey
	if !strings.HasPrefix(key, "/") {
		key = "/" + key
	}
	cleaned := path.Clean(key)
	if cleaned != key {
		return "", 0, fmt.Errorf("continue key is not valid: %s", c.StartKey)
	}
	return keyPrefix + cleaned[1:], c.ResourceVersion, nil
}
