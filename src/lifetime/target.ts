/** Who receives a send: one shape for every `clients.*` target. `except` lists connection ids. */
export type Target =
  | { readonly kind: "all"; readonly except?: readonly string[] }
  | { readonly kind: "connections"; readonly ids: readonly string[] }
  | { readonly kind: "groups"; readonly names: readonly string[]; readonly except?: readonly string[] }
  | { readonly kind: "users"; readonly ids: readonly string[] };
