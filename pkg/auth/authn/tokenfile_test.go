package authn

import (
	"encoding/base64"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

const testTokenFile = `admin-token,admin,uid-1,"system:masters,dev"
kubelet-token,system:node:n1,uid-2,system:nodes
plain-token,plain,uid-3
,empty-token-user,uid-4
dup-token,first,uid-5
dup-token,second,uid-6
`

func TestTokenFile_AuthenticateToken(t *testing.T) {
	tf, err := NewTokenFile(writeFile(t, "tokens.csv", []byte(testTokenFile)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token      string
		wantOK     bool
		wantUser   string
		wantUID    string
		wantGroups []string
	}{
		{token: "admin-token", wantOK: true, wantUser: "admin", wantUID: "uid-1", wantGroups: []string{"system:masters", "dev"}},
		{token: "kubelet-token", wantOK: true, wantUser: "system:node:n1", wantUID: "uid-2", wantGroups: []string{"system:nodes"}},
		{token: "plain-token", wantOK: true, wantUser: "plain", wantUID: "uid-3"},
		{token: "dup-token", wantOK: true, wantUser: "second", wantUID: "uid-6"},
		{token: ""},
		{token: "admin-toke"},
		{token: "admin-token "},
		{token: "ADMIN-TOKEN"},
		{token: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.token, func(t *testing.T) {
			u, ok, err := tf.AuthenticateToken(t.Context(), tc.token)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if u.Name != tc.wantUser || u.UID != tc.wantUID || !slices.Equal(u.Groups, tc.wantGroups) {
				t.Errorf("user = %+v, want %s %s %v", u, tc.wantUser, tc.wantUID, tc.wantGroups)
			}
			// The caller may change the user (group adder): the file's copy stays.
			u.Groups = append(u.Groups[:0], "mutated")
			u2, _, _ := tf.AuthenticateToken(t.Context(), tc.token)
			if slices.Contains(u2.Groups, "mutated") {
				t.Error("returned user aliases the token file's groups")
			}
		})
	}
}

func TestParseTokenFile_Errors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{name: "two columns", data: "token,user\n", want: "at least 3 columns"},
		{name: "unterminated quote", data: "token,user,uid,\"a,b\n", want: "parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokenFile([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewTokenFile("/nonexistent/tokens.csv"); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestBearerToken(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString([]byte("ws-token"))
	tests := []struct {
		name    string
		headers map[string]string
		want    string
		found   bool
	}{
		{name: "none"},
		{name: "bearer", headers: map[string]string{"Authorization": "Bearer abc"}, want: "abc", found: true},
		{name: "scheme is case-insensitive", headers: map[string]string{"Authorization": "bearer abc"}, want: "abc", found: true},
		{name: "surrounding spaces", headers: map[string]string{"Authorization": "  Bearer abc  "}, want: "abc", found: true},
		{name: "basic auth is not a bearer token", headers: map[string]string{"Authorization": "Basic YTpi"}},
		{name: "empty token", headers: map[string]string{"Authorization": "Bearer "}},
		{name: "space before token", headers: map[string]string{"Authorization": "Bearer  abc"}},
		{name: "websocket protocol token", headers: map[string]string{
			"Connection": "Upgrade", "Upgrade": "websocket",
			"Sec-WebSocket-Protocol": "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io." + b64,
		}, want: "ws-token", found: true},
		{name: "protocol token without upgrade is ignored", headers: map[string]string{
			"Sec-WebSocket-Protocol": "base64url.bearer.authorization.k8s.io." + b64,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got, found := BearerToken(r)
			if got != tc.want || found != tc.found {
				t.Fatalf("BearerToken = %q %v, want %q %v", got, found, tc.want, tc.found)
			}
		})
	}
}

func TestTokenFile_AuthenticateRequestStripsAcceptedToken(t *testing.T) {
	tf, err := ParseTokenFile([]byte(testTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString([]byte("admin-token"))
	tests := []struct {
		name       string
		headers    map[string]string
		wantOK     bool
		wantHeader string // header that must remain ("" = check Authorization removed)
	}{
		{name: "accepted header token is removed", headers: map[string]string{"Authorization": "Bearer admin-token"}, wantOK: true},
		{name: "unknown token stays for the chain", headers: map[string]string{"Authorization": "Bearer nope"}},
		{name: "accepted websocket token is removed, other protocols kept", headers: map[string]string{
			"Connection": "keep-alive, Upgrade", "Upgrade": "websocket",
			"Sec-WebSocket-Protocol": "v5.channel.k8s.io,base64url.bearer.authorization.k8s.io." + b64,
		}, wantOK: true, wantHeader: "v5.channel.k8s.io"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			u, ok, err := tf.AuthenticateRequest(r)
			if err != nil || ok != tc.wantOK {
				t.Fatalf("ok=%v err=%v, want ok=%v", ok, err, tc.wantOK)
			}
			if !ok {
				if r.Header.Get("Authorization") == "" {
					t.Error("rejected token removed from the request")
				}
				return
			}
			if u.Name != "admin" {
				t.Errorf("user = %q", u.Name)
			}
			if _, found := BearerToken(r); found {
				t.Error("accepted token still in the request")
			}
			if got := r.Header.Get("Sec-WebSocket-Protocol"); got != tc.wantHeader {
				t.Errorf("Sec-WebSocket-Protocol = %q, want %q", got, tc.wantHeader)
			}
		})
	}
}
