// Package cp is `kubectl cp`: copy files to and from containers as a tar
// stream over pods/exec (the container must have tar).
package cp

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/client-go/util/exec"

	kexec "github.com/kstack/kstack/pkg/kubectl/cmd/exec"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

// spec is one side of a copy: a local path, or pod:path.
type spec struct {
	ns, pod, path string
}

// errSpecFormat is upstream's message for a malformed file spec.
var errSpecFormat = errors.New("filespec must match the canonical format: [[namespace/]pod:]file/path")

// parse reads [[namespace/]pod:]path; without a colon it is local.
func parse(arg, defaultNS string) (spec, error) {
	i := strings.Index(arg, ":")
	switch {
	case i == 0:
		return spec{}, errSpecFormat
	case i == -1:
		return spec{path: arg}, nil
	}
	s := spec{ns: defaultNS, pod: arg[:i], path: arg[i+1:]}
	switch parts := strings.Split(s.pod, "/"); len(parts) {
	case 1:
	case 2:
		s.ns, s.pod = parts[0], parts[1]
	default:
		return spec{}, errSpecFormat
	}
	return s, nil
}

// New returns the cp command.
func New(f *util.Factory) *cobra.Command {
	var (
		container  string
		noPreserve bool
	)
	cmd := &cobra.Command{
		Use:                   "cp <file-spec-src> <file-spec-dest>",
		DisableFlagsInUseLine: true,
		Short:                 "Copy files and directories to and from containers",
		Long:                  "Copy files and directories to and from containers.",
		Example: `  # Copy /tmp/foo local file to /tmp/bar in a remote pod in namespace <some-namespace>
  kubectl cp /tmp/foo <some-namespace>/<some-pod>:/tmp/bar

  # Copy /tmp/foo from a remote pod to /tmp/bar locally
  kubectl cp <some-namespace>/<some-pod>:/tmp/foo /tmp/bar`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				// Not a usage error: upstream prints no help hint here.
				return errors.New("source and destination are required")
			}
			ns, _, err := f.Namespace()
			if err != nil {
				return err
			}
			src, err := parse(args[0], ns)
			if err != nil {
				return err
			}
			dst, err := parse(args[1], ns)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if src.pod != "" && dst.pod != "" {
				return errors.New("one of src or dest must be a local file specification")
			}
			if src.path == "" || dst.path == "" {
				return errors.New("filepath can not be empty")
			}
			switch {
			case src.pod != "":
				return fromPod(ctx, f, src, dst.path, container)
			case dst.pod != "":
				return toPod(ctx, f, src.path, dst, container, noPreserve)
			}
			return errors.New("one of src or dest must be a remote file specification")
		},
	}
	cmd.Flags().StringVarP(&container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVar(&noPreserve, "no-preserve", false, "The copied file/directory's ownership and permissions will not be preserved in the container")
	cmd.Flags().Int("retries", 0, "Set number of retries to complete a copy operation from a container. Specify 0 to disable or any negative value for infinite retrying. The default is 0 (no retry).")
	return cmd
}

// fromPod runs `tar cf - <path>` in the container and unpacks it at dest,
// the source's own name replaced by dest.
func fromPod(ctx context.Context, f *util.Factory, src spec, dest, container string) error {
	if src.path == "" {
		return errors.New("filepath can not be empty")
	}
	pod, err := podIn(ctx, f, src)
	if err != nil {
		return err
	}
	r, w := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		// tar's complaints (and the defaulted-container note) go to
		// stdout, as upstream.
		o := &util.StreamOptions{Container: container}
		err := kexec.RunInPod(ctx, f, pod, []string{"tar", "cf", "-", src.path}, o, nil, w, f.Out)
		w.CloseWithError(err)
		errc <- err
	}()
	prefix := strings.TrimLeft(path.Clean(src.path), "/")
	if err := untar(r, prefix, dest); err != nil {
		r.CloseWithError(err)
		return err
	}
	err = <-errc
	var exit utilexec.ExitError
	if errors.As(err, &exit) {
		// tar said what it could not read (on stdout); as upstream, the
		// copy of what it could read succeeds.
		return nil
	}
	return err
}

func untar(r io.Reader, prefix, dest string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		rel := strings.TrimPrefix(name, prefix)
		target := filepath.Join(dest, filepath.FromSlash(rel))
		if rel != "" && !strings.HasPrefix(target, filepath.Clean(dest)+string(os.PathSeparator)) {
			fmt.Fprintf(os.Stderr, "warning: file %q is outside target destination, skipping\n", h.Name)
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		default:
			fmt.Fprintf(os.Stderr, "warning: skipping %s: not a regular file or directory\n", h.Name)
		}
	}
}

// toPod packs src as the base name of dest and runs `tar -xmf -` in
// dest's directory.
func toPod(ctx context.Context, f *util.Factory, src string, dst spec, container string, noPreserve bool) error {
	if dst.path == "" {
		return errors.New("filepath can not be empty")
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%s doesn't exist in local filesystem", src)
	}
	pod, err := podIn(ctx, f, dst)
	if err != nil {
		return err
	}
	dest := path.Clean(dst.path)
	// Into an existing directory the source keeps its name.
	probe := &util.StreamOptions{Container: container, Quiet: true}
	if kexec.RunInPod(ctx, f, pod, []string{"test", "-d", dst.path}, probe, nil, io.Discard, io.Discard) == nil {
		dest = path.Join(dest, filepath.Base(filepath.Clean(src)))
	}
	destDir, destBase := path.Split(dest)
	r, w := io.Pipe()
	go func() { w.CloseWithError(makeTar(src, destBase, w)) }()
	cmd := []string{"tar", "-xmf", "-"}
	if noPreserve {
		cmd = []string{"tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-"}
	}
	if destDir = strings.TrimSuffix(destDir, "/"); destDir != "" || strings.HasPrefix(dest, "/") {
		if destDir == "" {
			destDir = "/"
		}
		cmd = append(cmd, "-C", destDir)
	}
	o := &util.StreamOptions{Container: container, Stdin: true}
	return util.StreamError(kexec.RunInPod(ctx, f, pod, cmd, o, r, f.Out, f.ErrOut), f.ErrOut)
}

func makeTar(src, name string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = path.Join(name, filepath.ToSlash(rel))
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			defer fh.Close()
			_, err = io.Copy(tw, fh)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// podIn reads the pod of a pod:path spec in its namespace.
func podIn(ctx context.Context, f *util.Factory, s spec) (*corev1.Pod, error) {
	cs, err := f.Clientset()
	if err != nil {
		return nil, err
	}
	return cs.CoreV1().Pods(s.ns).Get(ctx, s.pod, metav1.GetOptions{})
}
