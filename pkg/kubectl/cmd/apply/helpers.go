package apply

import (
	"context"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

func ctx() context.Context { return context.Background() }

func aggregate(errs []error) error { return utilerrors.NewAggregate(errs) }
