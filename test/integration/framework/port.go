package framework

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreePort returns a loopback TCP port nobody listens on right now, for a
// server a test starts by port number. It is drawn from 20000-32767, below
// the kernel's ephemeral range (32768-60999 here): a port the kernel hands
// out for ":0" may be taken again as the source port of any outgoing
// connection between this check and the server's bind, one below it is
// not. Parallel test packages draw at random, so they rarely meet.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12768)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port in 20000-32767 on 127.0.0.1")
	return 0
}
