package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// ErrImagePull says the image is not present and pulling it failed; the
// kubelet reports it as ErrImagePull, then ImagePullBackOff.
var ErrImagePull = errors.New("ErrImagePull")

// ErrImageNeverPull says the image is absent and the pull policy is Never.
var ErrImageNeverPull = errors.New("ErrImageNeverPull")

// pullTimeout bounds one pull attempt.
const pullTimeout = 60 * time.Second

// NormalizeImage turns a pod's image (busybox, foo/bar:1) into containerd's
// full reference (docker.io/library/busybox:latest).
func NormalizeImage(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("invalid image name %q: %w", image, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

// Image is an image present and unpacked in the namespace.
type Image struct {
	Ref string // normalized reference
	ID  string // manifest digest
	img client.Image
}

// EnsureImage returns image, unpacked, pulling it first when it is absent
// or when always is set. A failed pull wraps ErrImagePull; absent with
// never set is ErrImageNeverPull.
func (r *Runtime) EnsureImage(ctx context.Context, image string, always, never bool) (Image, error) {
	ref, err := NormalizeImage(image)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrImagePull, err)
	}
	img, err := r.client.GetImage(ctx, ref)
	switch {
	case err == nil && !always:
	case err != nil && !errdefs.IsNotFound(err):
		return Image{}, fmt.Errorf("look up image %s: %w", ref, err)
	case never:
		return Image{}, fmt.Errorf("%w: container image %q is not present with pull policy of Never", ErrImageNeverPull, image)
	default:
		pctx, cancel := context.WithTimeout(ctx, pullTimeout)
		pulled, perr := r.client.Pull(pctx, ref, client.WithPullUnpack)
		cancel()
		if perr != nil {
			if err == nil { // present but Always: a failed pull still fails, as upstream
				return Image{}, fmt.Errorf("%w: failed to pull image %q: %w", ErrImagePull, image, perr)
			}
			return Image{}, fmt.Errorf("%w: failed to pull and unpack image %q: %w", ErrImagePull, image, perr)
		}
		img = pulled
	}
	unpacked, err := img.IsUnpacked(ctx, "")
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", ref, err)
	}
	if !unpacked {
		if err := img.Unpack(ctx, ""); err != nil {
			return Image{}, fmt.Errorf("unpack image %s: %w", ref, err)
		}
	}
	return Image{Ref: ref, ID: img.Target().Digest.String(), img: img}, nil
}

// ImportArchive imports an OCI or docker archive (names from its
// index.json annotations) and returns the image names.
func (r *Runtime) ImportArchive(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	imgs, err := r.client.Import(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var names []string
	for _, i := range imgs {
		names = append(names, i.Name)
	}
	return names, nil
}

// ImageInfo is an image for the node's status.
type ImageInfo struct {
	Names []string
	Size  int64
}

// ListImages lists the namespace's images.
func (r *Runtime) ListImages(ctx context.Context) ([]ImageInfo, error) {
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	byDigest := map[string]*ImageInfo{}
	var order []string
	for _, i := range imgs {
		d := i.Target().Digest.String()
		if byDigest[d] == nil {
			size, _ := i.Size(ctx)
			byDigest[d] = &ImageInfo{Size: size}
			order = append(order, d)
		}
		byDigest[d].Names = append(byDigest[d].Names, i.Name())
	}
	out := make([]ImageInfo, 0, len(order))
	for _, d := range order {
		out = append(out, *byDigest[d])
	}
	return out, nil
}
