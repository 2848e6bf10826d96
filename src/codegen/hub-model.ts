/** What the code generator knows about a hub, read from its TypeScript source. */

export interface ParameterModel {
  name: string;
  /** The parameter's type as written for the client (for an upload stream: the item type). */
  type: string;
  /** Bound to a client-to-server stream (`@UploadStream()`). */
  upload: boolean;
}

export interface MethodModel {
  /** The TypeScript name, used for the generated function. */
  name: string;
  /** The name on the wire (the `@HubMethod` name). */
  wireName: string;
  parameters: ParameterModel[];
  /** `void`: no value; `value`: a result; `stream`: a server-to-client stream. */
  kind: "void" | "value" | "stream";
  /** The result type with promises unwrapped, or the stream's item type. */
  resultType: string;
  /** The method's TSDoc, without comment markers. */
  doc: string | undefined;
}

export interface ClientMethodModel {
  name: string;
  parameters: Array<{ name: string; type: string; optional: boolean }>;
  /** What the handler returns: `void`, or the type of a client result. */
  resultType: string;
  doc: string | undefined;
}

/** A named type the generated module must import. */
export interface TypeImport {
  name: string;
  /** Absolute path of the declaring source file (without extension handling). */
  fromFile: string;
}

export interface HubModel {
  className: string;
  sourceFile: string;
  doc: string | undefined;
  methods: MethodModel[];
  /** The hub's `TClient` functions; empty when it has none. */
  clientMethods: ClientMethodModel[];
  /** The name of the TClient interface, when it is a named type. */
  clientInterface: string | undefined;
  imports: TypeImport[];
}
