package authn

import (
	"slices"
	"strings"
	"testing"
)

func TestReviewToken(t *testing.T) {
	f := newSAFixture(t)
	tf, err := ParseTokenFile([]byte("good-token,tina,uid-t\n"))
	if err != nil {
		t.Fatal(err)
	}
	api := []string{testIssuer}
	multi := f.issue(t, f.rsa, []string{"vault", testIssuer}, nil)
	tests := []struct {
		name      string
		token     string
		requested []string
		wantUser  string
		wantAuds  []string
		wantErr   string
	}{
		{name: "service account, API audiences", token: multi, wantUser: "system:serviceaccount:default:builder", wantAuds: []string{testIssuer}},
		{name: "service account, requested audience", token: multi, requested: []string{"vault", "other"}, wantUser: "system:serviceaccount:default:builder", wantAuds: []string{"vault"}},
		{name: "service account, audience not in token", token: multi, requested: []string{"other"}, wantErr: "token audiences"},
		{name: "token file, API audiences", token: "good-token", wantUser: "tina", wantAuds: api},
		{name: "token file, requested API audience", token: "good-token", requested: []string{"x", testIssuer}, wantUser: "tina", wantAuds: api},
		{name: "token file, foreign audience", token: "good-token", requested: []string{"vault"}},
		{name: "unknown token", token: "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, auds, ok, err := ReviewToken(t.Context(), tc.token, tc.requested, api, tf, f.authn)
			if tc.wantErr != "" {
				if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got ok=%v err=%v, want %q", ok, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantUser != "") {
				t.Fatalf("ok = %v, want user %q", ok, tc.wantUser)
			}
			if !ok {
				return
			}
			if u.Name != tc.wantUser || !slices.Equal(auds, tc.wantAuds) || !u.InGroup("system:authenticated") {
				t.Errorf("got %q %v audiences %v, want %q audiences %v", u.Name, u.Groups, auds, tc.wantUser, tc.wantAuds)
			}
		})
	}
}
