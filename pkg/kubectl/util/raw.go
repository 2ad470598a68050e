package util

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// RESTClient is a client of the core API group over the selected context,
// as upstream's factory hands out (its RequestURI reaches any path).
func (f *Factory) RESTClient() (*rest.RESTClient, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c.GroupVersion = &schema.GroupVersion{Version: "v1"}
	if c.APIPath == "" {
		c.APIPath = "/api"
	}
	if c.NegotiatedSerializer == nil {
		c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	}
	if err := rest.SetKubernetesDefaults(c); err != nil {
		return nil, err
	}
	return rest.RESTClientFor(c)
}

// RawRequest sends method to uri (a path with an optional query, as the
// --raw flags of get, create, replace and delete take) with the content
// of filename as the body ("-": stdin; "": none), and copies the response
// body to f.Out. A response outside 2xx is an error (a Status from the
// server becomes an API error), as upstream's rawhttp.
func (f *Factory) RawRequest(ctx context.Context, method, uri, filename string) error {
	var body io.Reader = bytes.NewReader(nil)
	switch filename {
	case "":
	case "-":
		body = f.In
	default:
		file, err := os.Open(filename)
		if err != nil {
			return err
		}
		defer file.Close()
		body = file
	}
	client, err := f.RESTClient()
	if err != nil {
		return err
	}
	req := client.Verb(method).RequestURI(uri)
	if method != "GET" {
		req = req.Body(body)
	}
	stream, err := req.Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(f.Out, stream)
	return err
}

// ValidateRawFiles checks the files a --raw request would send, as
// upstream: one at most (exactly one when required), local, and no -R.
func ValidateRawFiles(fo resource.FilenameOptions, required bool) error {
	switch n := len(fo.Filenames); {
	case n > 1 || (required && n == 0):
		return fmt.Errorf("--raw can only use a single local file or stdin")
	case n == 1 && (strings.HasPrefix(fo.Filenames[0], "http://") || strings.HasPrefix(fo.Filenames[0], "https://")):
		return fmt.Errorf("--raw cannot read from a url")
	}
	if fo.Recursive {
		return fmt.Errorf("--raw and --recursive are mutually exclusive")
	}
	return nil
}

// ValidateRawURI checks that raw is a request URI (an absolute path).
func ValidateRawURI(raw string) error {
	if _, err := url.ParseRequestURI(raw); err != nil {
		return fmt.Errorf("--raw must be a valid URL path: %v", err)
	}
	return nil
}
