// Package openapi serves /openapi/v2 and /openapi/v3 for the resources in
// the api table, built by reflection from the k8s.io/api Go types.
//
// Data flow:
//
//	api.Resources() ──► newModel: paths per group version (paths.go)
//	                          │      GVKs per model name
//	                          ▼
//	     definitions (schemas.go): reflect over each kind's struct
//	       names      OpenAPIModelName()          io.k8s.api.core.v1.Pod
//	       docs       SwaggerDoc()                "" = type, json name = field
//	       types      OpenAPISchemaType/Format    Time, MicroTime, Duration,
//	                  OpenAPIV3OneOfTypes (v3)    Quantity, IntOrString
//	       merging    patchStrategy/patchMergeKey struct tags, and list/map
//	                  types from client-go's structured-merge-diff schema
//	                  (listtypes.go)
//	                          │
//	                          ▼
//	     render.go: swagger 2.0 (all paths, all definitions) and one
//	     OpenAPI 3.0 document per group version (its paths and the schemas
//	     they reach), encoded once, on first request, and kept as bytes
//	                          │
//	                          ▼
//	     service.go: ServeV2, ServeV3Index, ServeV3GroupVersion with ETag,
//	     If-None-Match, ?hash= (immutable) and protobuf via gnostic-models.
//
// Required fields: upstream's required lists come from k8s.io/api's
// +optional/+required comment markers, which reflection cannot see. We take
// a field as required when its json tag has neither omitempty nor omitzero
// and it is not a pointer, corrected by two lists read off the markers
// (notRequired and alsoRequired in schemas.go); the result matches
// upstream v1.37's required lists for every definition we serve. Enum
// values (+enum, upstream's "Possible enum values:" descriptions) and
// defaults (+default) are not reproduced: no module we build with carries
// them as data (only upstream's generated openapi package, in
// k8s.io/kubernetes, has them).
package openapi
