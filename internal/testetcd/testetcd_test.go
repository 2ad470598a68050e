package testetcd

import (
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		out     string
		want    [3]int
		tooOld  bool
		wantErr bool
	}{
		{out: "etcd Version: 3.7.3\nGit SHA: abc\nGo Version: go1.26\n", want: [3]int{3, 7, 3}},
		{out: "etcd Version: 3.5.13\n", want: [3]int{3, 5, 13}},
		{out: "etcd Version: 3.4.23\n", want: [3]int{3, 4, 23}, tooOld: true},
		{out: "etcd Version: 3.5.12\n", want: [3]int{3, 5, 12}, tooOld: true},
		{out: "garbage", wantErr: true},
	} {
		v, err := parseVersion([]byte(tc.out))
		if (err != nil) != tc.wantErr {
			t.Fatalf("parseVersion(%q) error = %v, want error %v", tc.out, err, tc.wantErr)
		}
		if err != nil {
			continue
		}
		if v != tc.want || less(v, minVersion) != tc.tooOld {
			t.Errorf("parseVersion(%q) = %v (too old %v), want %v (too old %v)", tc.out, v, less(v, minVersion), tc.want, tc.tooOld)
		}
	}
}

func TestStartEmbedded_ServesReadsAndWrites(t *testing.T) {
	_, c := StartEmbedded(t)
	if _, err := c.Put(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(t.Context(), "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("get k = %v, %v", resp, err)
	}
}

func TestStart_ServesReadsAndWrites(t *testing.T) {
	_, c := Start(t)
	if _, err := c.Put(t.Context(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(t.Context(), "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("get k = %v, %v", resp, err)
	}
}
