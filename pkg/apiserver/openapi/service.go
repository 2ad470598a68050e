package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/api"
)

// Content types clients ask for. client-go's discovery OpenAPISchema()
// asks for the v2 protobuf; the v3 one is answered too.
const (
	mimeJSON      = "application/json"
	mimeV2Proto   = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mimeV2ProtoV2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mimeV3Proto   = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
	mimeV3ProtoV2 = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
)

// DefaultVersion is the info.version of the documents unless WithVersion
// says otherwise: the Kubernetes release whose API we serve.
const DefaultVersion = "v1.37.2"

// Service serves /openapi/v2 and /openapi/v3 for a set of resources. The
// documents are built on first request and memoized as encoded bytes
// only; a Service is safe for concurrent use.
type Service struct {
	resources []api.Resource
	version   string

	listsOnce sync.Once
	lists     *listSemantics
	listsErr  error

	v2Once sync.Once
	v2     *document
	v2Err  error

	v3Once  sync.Once
	v3      map[string]*document // "api/v1", "apis/apps/v1"
	v3Index []byte
	v3Err   error
}

// Option configures a Service.
type Option func(*Service)

// WithVersion sets info.version of the documents ("v1.37.2").
func WithVersion(v string) Option { return func(s *Service) { s.version = v } }

// New returns a Service for the resources (usually api.Resources()).
// Nothing is built until the first request.
func New(resources []api.Resource, opts ...Option) (*Service, error) {
	if len(resources) == 0 {
		return nil, fmt.Errorf("openapi: no resources to describe")
	}
	s := &Service{resources: resources, version: DefaultVersion}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// document is one encoded document, with its protobuf form made on the
// first request for it.
type document struct {
	json     []byte
	hash     string // upper-case hex sha512 of json, as upstream
	toProto  func([]byte) ([]byte, error)
	once     sync.Once
	proto    []byte
	protoTag string
	protoErr error
}

func newDocument(b []byte, toProto func([]byte) ([]byte, error)) *document {
	return &document{json: b, hash: hashOf(b), toProto: toProto}
}

func hashOf(b []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(b))
}

func (d *document) protobuf() ([]byte, string, error) {
	d.once.Do(func() {
		d.proto, d.protoErr = d.toProto(d.json)
		if d.protoErr == nil {
			d.protoTag = hashOf(d.proto)
		}
	})
	return d.proto, d.protoTag, d.protoErr
}

func v2ToProto(b []byte) ([]byte, error) {
	doc, err := openapi_v2.ParseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("convert openapi v2 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

func v3ToProto(b []byte) ([]byte, error) {
	doc, err := openapi_v3.ParseDocument(b)
	if err != nil {
		return nil, fmt.Errorf("convert openapi v3 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

func (s *Service) listSemantics() (*listSemantics, error) {
	s.listsOnce.Do(func() { s.lists, s.listsErr = loadListSemantics(api.Scheme) })
	return s.lists, s.listsErr
}

// V2 returns the swagger 2.0 document as JSON, building it on first use.
func (s *Service) V2() ([]byte, error) {
	d, err := s.v2Doc()
	if err != nil {
		return nil, err
	}
	return d.json, nil
}

func (s *Service) v2Doc() (*document, error) {
	s.v2Once.Do(func() {
		lists, err := s.listSemantics()
		if err != nil {
			s.v2Err = err
			return
		}
		b, err := json.Marshal(newModel(s.resources, s.version, lists).swagger())
		if err != nil {
			s.v2Err = fmt.Errorf("encode openapi v2: %w", err)
			return
		}
		s.v2 = newDocument(b, v2ToProto)
	})
	return s.v2, s.v2Err
}

// V3 returns the OpenAPI 3.0 document of one group version path
// ("api/v1", "apis/apps/v1") as JSON; false if no such group version.
func (s *Service) V3(path string) ([]byte, bool, error) {
	docs, _, err := s.v3Docs()
	if err != nil {
		return nil, false, err
	}
	d, ok := docs[path]
	if !ok {
		return nil, false, nil
	}
	return d.json, true, nil
}

func (s *Service) v3Docs() (map[string]*document, []byte, error) {
	s.v3Once.Do(func() {
		lists, err := s.listSemantics()
		if err != nil {
			s.v3Err = err
			return
		}
		m := newModel(s.resources, s.version, lists)
		defs := m.definitions(true)
		docs := map[string]*document{}
		type entry struct {
			URL string `json:"serverRelativeURL"`
		}
		index := struct {
			Paths map[string]entry `json:"paths"`
		}{Paths: map[string]entry{}}
		for _, gv := range m.gvs {
			b, err := json.Marshal(m.openAPIV3(defs, gv))
			if err != nil {
				s.v3Err = fmt.Errorf("encode openapi v3 for %s: %w", gv, err)
				return
			}
			key := v3Key(gv)
			docs[key] = newDocument(b, v3ToProto)
			index.Paths[key] = entry{URL: "/openapi/v3/" + key + "?hash=" + docs[key].hash}
		}
		idx, err := json.Marshal(index)
		if err != nil {
			s.v3Err = fmt.Errorf("encode openapi v3 index: %w", err)
			return
		}
		s.v3, s.v3Index = docs, idx
	})
	return s.v3, s.v3Index, s.v3Err
}

// v3Key is the group version's path below /openapi/v3.
func v3Key(gv schema.GroupVersion) string {
	return strings.TrimPrefix(gvPrefix(gv), "/")
}

// GroupVersionPaths lists the group version paths of /openapi/v3, sorted.
func (s *Service) GroupVersionPaths() ([]string, error) {
	docs, _, err := s.v3Docs()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(docs))
	for k := range docs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// ServeV2 answers GET /openapi/v2: JSON, or protobuf when the Accept
// header asks for application/com.github.proto-openapi.spec.v2@v1.0+protobuf.
// It sets an ETag and answers 304 to a matching If-None-Match.
func (s *Service) ServeV2(w http.ResponseWriter, r *http.Request) {
	d, err := s.v2Doc()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	serveDocument(w, r, d, mimeV2Proto, mimeV2ProtoV2)
}

// ServeV3Index answers GET /openapi/v3: the list of group version
// documents with their hashed URLs.
func (s *Service) ServeV3Index(w http.ResponseWriter, r *http.Request) {
	_, idx, err := s.v3Docs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	etag := `"` + hashOf(idx) + `"`
	w.Header().Set("Etag", etag)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.Header().Set("Vary", "Accept")
	if inmatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", mimeJSON)
	_, _ = w.Write(idx)
}

// ServeV3GroupVersion answers GET /openapi/v3/<path>, path being "api/v1"
// or "apis/<group>/<version>". With ?hash= matching the current document
// the response is immutable; a stale hash redirects to the current one,
// as upstream does.
func (s *Service) ServeV3GroupVersion(w http.ResponseWriter, r *http.Request, path string) {
	docs, _, err := s.v3Docs()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	path = strings.Trim(path, "/")
	d, ok := docs[path]
	if !ok {
		http.Error(w, fmt.Sprintf("openapi v3 document for %q not found", path), http.StatusNotFound)
		return
	}
	if h := r.URL.Query().Get("hash"); h != "" {
		if h != d.hash {
			http.Redirect(w, r, "/openapi/v3/"+path+"?hash="+d.hash, http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", "Fri, 01 Jan 2100 00:00:00 GMT")
	} else {
		w.Header().Set("Cache-Control", "no-cache, private")
	}
	serveDocument(w, r, d, mimeV3Proto, mimeV3ProtoV2)
}

// serveDocument writes d as JSON or, if the client accepts one of the
// protobuf types, as protobuf; with ETag and If-None-Match.
func serveDocument(w http.ResponseWriter, r *http.Request, d *document, protoTypes ...string) {
	w.Header().Set("Vary", "Accept")
	if ct := acceptsProto(r, protoTypes); ct != "" {
		b, tag, err := d.protobuf()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeWithETag(w, r, ct, `"`+tag+`"`, b)
		return
	}
	writeWithETag(w, r, mimeJSON, `"`+d.hash+`"`, d.json)
}

func writeWithETag(w http.ResponseWriter, r *http.Request, contentType, etag string, b []byte) {
	w.Header().Set("Etag", etag)
	if inmatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}

// acceptsProto returns the protobuf content type to answer with when the
// Accept header names one of protoTypes before JSON, or "". The answer
// always uses the last (canonical) name: the deprecated "@v1.0" form is
// not a valid media type for mime parsers.
func acceptsProto(r *http.Request, protoTypes []string) string {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		for _, pt := range protoTypes {
			if strings.EqualFold(mt, pt) {
				return protoTypes[len(protoTypes)-1]
			}
		}
		if mt == mimeJSON || mt == "*/*" || mt == "application/*" {
			return ""
		}
	}
	return ""
}

func inmatch(r *http.Request, etag string) bool {
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t = strings.TrimSpace(t); t == etag || t == "*" {
			return true
		}
	}
	return false
}
