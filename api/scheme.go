package api

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

// Scheme holds every k8s.io/api type the apiserver serves, one version per
// group (plus autoscaling/v1 beside v2), and the meta.k8s.io types
// (Status, Table, WatchEvent, options) that travel with them.
var Scheme = runtime.NewScheme()

// Codecs are the JSON, YAML and protobuf serializers for Scheme. Lists are
// encoded item by item (streaming), so a large LIST does not build its whole
// body twice in memory.
var Codecs = serializer.NewCodecFactory(Scheme, serializer.EnablePretty,
	serializer.WithStreamingCollectionEncodingToJSON(),
	serializer.WithStreamingCollectionEncodingToProtobuf())

// ParameterCodec decodes query parameters into the meta.k8s.io option types.
var ParameterCodec = runtime.NewParameterCodec(Scheme)

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		batchv1.AddToScheme,
		autoscalingv1.AddToScheme,
		autoscalingv2.AddToScheme,
		discoveryv1.AddToScheme,
		coordinationv1.AddToScheme,
		rbacv1.AddToScheme,
		eventsv1.AddToScheme,
		policyv1.AddToScheme,
		networkingv1.AddToScheme,
		storagev1.AddToScheme,
		schedulingv1.AddToScheme,
		nodev1.AddToScheme,
		authenticationv1.AddToScheme,
		authorizationv1.AddToScheme,
		certificatesv1.AddToScheme,
		admissionregistrationv1.AddToScheme,
		resourcev1.AddToScheme,
		storagemigrationv1.AddToScheme,
		apidiscoveryv2.AddToScheme,
		metav1.AddMetaToScheme,
	} {
		utilruntime.Must(add(Scheme))
	}
	// Unversioned meta types (Status, WatchEvent, APIVersions, ...) and the
	// option types' conversions for query parameters.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	// Clients send option bodies (DeleteOptions above all) as
	// meta.k8s.io/v1, as upstream registers them.
	Scheme.AddKnownTypes(metav1.SchemeGroupVersion,
		&metav1.DeleteOptions{}, &metav1.ListOptions{}, &metav1.GetOptions{},
		&metav1.CreateOptions{}, &metav1.UpdateOptions{}, &metav1.PatchOptions{})
}
