package apiserver

import (
	"mime"
	"net/http"
	"strings"

	"github.com/kstack/kstack/api"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Output kinds a client can ask for with Accept parameters
// (as=Table;g=meta.k8s.io;v=v1 and friends).
type outputKind int

const (
	outputObject outputKind = iota
	outputTable
	outputPartialObjectMetadata
	outputPartialObjectMetadataList
)

// mediaChoice is the negotiated response encoding.
type mediaChoice struct {
	info   runtime.SerializerInfo
	kind   outputKind
	pretty bool
}

// contentType is the Content-Type header for the choice.
func (m mediaChoice) contentType() string { return m.info.MediaType }

var (
	jsonInfo, yamlInfo, protobufInfo runtime.SerializerInfo
)

func init() {
	for _, info := range api.Codecs.SupportedMediaTypes() {
		switch info.MediaType {
		case runtime.ContentTypeJSON:
			jsonInfo = info
		case runtime.ContentTypeYAML:
			yamlInfo = info
		case runtime.ContentTypeProtobuf:
			protobufInfo = info
		}
	}
}

// negotiateOutput picks the response encoding from the Accept header, as
// upstream does: the first acceptable media range wins; an Accept that names
// nothing we serve is 406. stream reports a watch (no YAML there).
func negotiateOutput(r *http.Request, stream bool) (mediaChoice, error) {
	accept := r.Header.Get("Accept")
	pretty := r.URL.Query().Get("pretty") == "true" || r.URL.Query().Get("pretty") == "1"
	if accept == "" {
		return mediaChoice{info: jsonInfo, pretty: pretty}, nil
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		var info runtime.SerializerInfo
		switch mt {
		case "application/json", "application/json;stream=watch", "*/*", "application/*":
			info = jsonInfo
		case "application/yaml":
			if stream {
				continue
			}
			info = yamlInfo
		case "application/vnd.kubernetes.protobuf":
			info = protobufInfo
		default:
			continue
		}
		choice := mediaChoice{info: info, pretty: pretty || params["pretty"] == "true"}
		if as := params["as"]; as != "" {
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table":
				choice.kind = outputTable
			case "PartialObjectMetadata":
				choice.kind = outputPartialObjectMetadata
			case "PartialObjectMetadataList":
				choice.kind = outputPartialObjectMetadataList
			default:
				continue
			}
			if info.MediaType == runtime.ContentTypeYAML && choice.kind == outputTable {
				continue
			}
		}
		return choice, nil
	}
	return mediaChoice{}, newStatusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf")
}

// negotiateInput picks the request body's decoder from Content-Type; an
// unknown one is 415.
func negotiateInput(r *http.Request) (runtime.SerializerInfo, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return jsonInfo, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return runtime.SerializerInfo{}, unsupportedMediaType(ct)
	}
	switch mt {
	case "application/json":
		return jsonInfo, nil
	case "application/yaml":
		return yamlInfo, nil
	case "application/vnd.kubernetes.protobuf":
		return protobufInfo, nil
	}
	return runtime.SerializerInfo{}, unsupportedMediaType(ct)
}
