package vtl

// The template is parsed into a tree of nodes (things that write output)
// and expressions (things that produce values). Every node and expression
// keeps the byte offset where it starts so runtime errors can report a
// line and column.

type node interface{ offset() int }

// textNode writes literal text. verbatim says text is the source at off
// (not unescaped), so an adjacent run can extend it in place.
type textNode struct {
	off      int
	text     string
	verbatim bool
}

// refNode renders a reference ($x, ${x.y}, $!x) at this point of the output.
// prefix holds the backslashes that escape processing leaves in front of
// it; escaped is set when an odd number of backslashes preceded it.
type refNode struct {
	ref     *refExpr
	prefix  string
	escaped bool
}

type setNode struct {
	off int
	lhs *refExpr
	rhs expr
}

type ifNode struct {
	off    int
	conds  []expr   // #if, then each #elseif
	blocks [][]node // one per cond
	els    []node   // #else block (nil when absent)
}

type foreachNode struct {
	off     int
	varName string
	coll    expr
	body    []node
}

type stopNode struct{ off int }

type breakNode struct{ off int }

// defineNode (#define($name) ... #end) binds $name to a block that renders
// when referenced.
type defineNode struct {
	off  int
	name string
	body []node
}

type macroDef struct {
	name   string
	params []string
	body   []node
}

type macroCallNode struct {
	off  int
	m    *macroDef
	args []expr
}

func (n *textNode) offset() int      { return n.off }
func (n *refNode) offset() int       { return n.ref.off }
func (n *setNode) offset() int       { return n.off }
func (n *ifNode) offset() int        { return n.off }
func (n *foreachNode) offset() int   { return n.off }
func (n *stopNode) offset() int      { return n.off }
func (n *breakNode) offset() int     { return n.off }
func (n *defineNode) offset() int    { return n.off }
func (n *macroCallNode) offset() int { return n.off }

type expr interface{ offset() int }

// litExpr is a constant: string, int64, float64, bool or nil.
type litExpr struct {
	off int
	v   any
}

// interpExpr is a double-quoted string containing references or
// directives; it is rendered each time it is evaluated.
type interpExpr struct {
	off   int
	parts []node
}

type suffixKind uint8

const (
	sufProp suffixKind = iota
	sufMethod
	sufIndex
)

type suffix struct {
	off  int
	kind suffixKind
	name string // property or method name
	args []expr // method arguments, or the single index expression
}

// refExpr is a reference: a variable name followed by properties, method
// calls and indexes. src is its source text, rendered when the value is
// null and Velocity's literal rendering is selected.
type refExpr struct {
	off      int
	src      string
	quiet    bool
	name     string
	suffixes []suffix
}

type listExpr struct {
	off   int
	items []expr
}

type mapExpr struct {
	off  int
	keys []expr
	vals []expr
}

type rangeExpr struct {
	off    int
	lo, hi expr
}

type opKind uint8

const (
	opOr opKind = iota
	opAnd
	opEq
	opNe
	opLt
	opGt
	opLe
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opNot
	opNeg
)

type binExpr struct {
	off  int
	op   opKind
	l, r expr
}

type unaryExpr struct {
	off int
	op  opKind
	x   expr
}

func (e *litExpr) offset() int    { return e.off }
func (e *interpExpr) offset() int { return e.off }
func (e *refExpr) offset() int    { return e.off }
func (e *listExpr) offset() int   { return e.off }
func (e *mapExpr) offset() int    { return e.off }
func (e *rangeExpr) offset() int  { return e.off }
func (e *binExpr) offset() int    { return e.off }
func (e *unaryExpr) offset() int  { return e.off }
