/** The syntax tree of a Jinja2 template. Every node has its offsets in the source. */

export type Span = [number, number];

export type Expr =
  | { t: 'const'; value: unknown; span: Span }
  | { t: 'name'; name: string; span: Span }
  | { t: 'list'; items: Expr[]; span: Span }
  | { t: 'tuple'; items: Expr[]; span: Span }
  | { t: 'dict'; pairs: Array<[Expr, Expr]>; span: Span }
  | { t: 'attr'; obj: Expr; name: string; span: Span }
  | { t: 'item'; obj: Expr; key: Expr; span: Span }
  | { t: 'slice'; obj: Expr; start?: Expr; stop?: Expr; step?: Expr; span: Span }
  | { t: 'call'; fn: Expr; args: Expr[]; kwargs: Array<[string, Expr]>; span: Span }
  | { t: 'filter'; name: string; value: Expr | undefined; args: Expr[]; kwargs: Array<[string, Expr]>; span: Span }
  | { t: 'test'; name: string; value: Expr; args: Expr[]; kwargs: Array<[string, Expr]>; span: Span }
  | { t: 'unary'; op: 'not' | '-' | '+'; value: Expr; span: Span }
  | { t: 'binary'; op: string; left: Expr; right: Expr; span: Span }
  | { t: 'compare'; first: Expr; ops: Array<[string, Expr]>; span: Span }
  | { t: 'cond'; test: Expr; then: Expr; else?: Expr; span: Span };

export interface Param {
  name: string;
  default?: Expr;
}

export type Stmt =
  | { t: 'data'; text: string }
  | { t: 'output'; expr: Expr }
  | { t: 'if'; branches: Array<[Expr, Stmt[]]>; else: Stmt[] }
  | { t: 'for'; target: Expr; iter: Expr; filter?: Expr; body: Stmt[]; else: Stmt[]; recursive: boolean; span: Span }
  | { t: 'set'; target: Expr; value: Expr }
  | { t: 'setblock'; target: Expr; body: Stmt[]; filters: Expr[] }
  | { t: 'macro'; name: string; params: Param[]; body: Stmt[]; span: Span }
  | { t: 'callblock'; call: Expr; params: Param[]; body: Stmt[] }
  | { t: 'filterblock'; filter: Expr; body: Stmt[] }
  | { t: 'with'; targets: Array<[Expr, Expr]>; body: Stmt[] }
  | { t: 'include'; template: Expr; ignoreMissing: boolean; withContext: boolean; span: Span }
  | { t: 'import'; template: Expr; alias: string; withContext: boolean; span: Span }
  | { t: 'fromimport'; template: Expr; names: Array<[string, string]>; withContext: boolean; span: Span }
  | { t: 'block'; name: string; body: Stmt[] }
  | { t: 'do'; expr: Expr };
