package get

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"
)

// fieldPathRE accepts "name1.name2", ".name1.name2", "{name1.name2}" and
// "{.name1.name2}".
var fieldPathRE = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// relaxedJSONPath turns a loosely written field path into a jsonpath
// template ("{.metadata.name}").
func relaxedJSONPath(expr string) (string, error) {
	if expr == "" {
		return expr, nil
	}
	m := fieldPathRE.FindStringSubmatch(expr)
	if m == nil {
		return "", fmt.Errorf("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
	}
	field := m[1]
	if field == "" {
		field = m[2]
	}
	return "{." + field + "}", nil
}

// column is one custom column: a header and the jsonpath of its value.
type column struct {
	header string
	parser *jsonpath.JSONPath
}

// customColumnsPrinter prints -o custom-columns=HEADER:path,...
type customColumnsPrinter struct {
	columns       []column
	noHeaders     bool
	headerPrinted bool
}

func newColumn(header, spec string) (column, error) {
	path, err := relaxedJSONPath(spec)
	if err != nil {
		return column{}, err
	}
	p := jsonpath.New(header).AllowMissingKeys(true)
	if err := p.Parse(path); err != nil {
		return column{}, err
	}
	return column{header: header, parser: p}, nil
}

func customColumnsFromSpec(spec string, noHeaders bool) (*customColumnsPrinter, error) {
	if spec == "" {
		return nil, fmt.Errorf("custom-columns format specified but no custom columns given")
	}
	p := &customColumnsPrinter{noHeaders: noHeaders}
	for _, part := range strings.Split(spec, ",") {
		header, path, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
		}
		c, err := newColumn(header, path)
		if err != nil {
			return nil, err
		}
		p.columns = append(p.columns, c)
	}
	return p, nil
}

func customColumnsFromFile(r io.Reader) (*customColumnsPrinter, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return nil, fmt.Errorf("invalid template, missing header line. Expected format is one line of space separated headers, one line of space separated column specs.")
	}
	headers := strings.Fields(sc.Text())
	if !sc.Scan() {
		return nil, fmt.Errorf("invalid template, missing spec line. Expected format is one line of space separated headers, one line of space separated column specs.")
	}
	specs := strings.Fields(sc.Text())
	if len(headers) != len(specs) {
		return nil, fmt.Errorf("number of headers (%d) and field specifications (%d) don't match", len(headers), len(specs))
	}
	p := &customColumnsPrinter{}
	for i := range headers {
		c, err := newColumn(headers[i], specs[i])
		if err != nil {
			return nil, err
		}
		p.columns = append(p.columns, c)
	}
	return p, nil
}

// PrintObj prints one row per object (per item of a list).
func (p *customColumnsPrinter) PrintObj(obj runtime.Object, out io.Writer) error {
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	if !p.noHeaders && !p.headerPrinted {
		headers := make([]string, len(p.columns))
		for i, c := range p.columns {
			headers[i] = c.header
		}
		fmt.Fprintln(w, strings.Join(headers, "\t"))
		p.headerPrinted = true
	}
	objs := []runtime.Object{obj}
	if meta.IsListType(obj) {
		var err error
		if objs, err = meta.ExtractList(obj); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if err := p.printRow(o, w); err != nil {
			return err
		}
	}
	return nil
}

func (p *customColumnsPrinter) printRow(obj runtime.Object, w io.Writer) error {
	var content any
	if u, ok := obj.(runtime.Unstructured); ok {
		content = u.UnstructuredContent()
	} else {
		content = reflect.ValueOf(obj).Elem().Interface()
	}
	cells := make([]string, len(p.columns))
	for i, c := range p.columns {
		results, err := c.parser.FindResults(content)
		if err != nil {
			return err
		}
		var vals []string
		for _, r := range results {
			for _, v := range r {
				vals = append(vals, printers.EscapeTerminal(fmt.Sprint(v.Interface())))
			}
		}
		if len(results) == 0 || len(results[0]) == 0 {
			vals = append([]string{"<none>"}, vals...)
		}
		cells[i] = strings.Join(vals, ",")
	}
	_, err := fmt.Fprintln(w, strings.Join(cells, "\t"))
	return err
}
