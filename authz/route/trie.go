package route

import "strings"

// maxParams bounds the {param} and * values of one template, so matching can collect
// them without allocating.
const maxParams = 16

// node is one segment position of a method's templates. Matching prefers a literal
// child, then a {param}, then *, backtracking on failure: the most specific template
// wins whatever the order of the data file.
type node struct {
	literals map[string]*node
	param    *node
	wildcard *leaf
	leaf     *leaf
}

type leaf struct {
	id     string
	public bool
	params []string // names of the {param} and * values, in path order
}

// insert adds a template and returns the leaf already there when the same shape exists.
func (n *node) insert(segs []segment, l *leaf) *leaf {
	for _, s := range segs {
		switch s.kind {
		case wildcard:
			if n.wildcard != nil {
				return n.wildcard
			}
			n.wildcard = l
			return nil
		case param:
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		default:
			if n.literals == nil {
				n.literals = map[string]*node{}
			}
			child := n.literals[s.text]
			if child == nil {
				child = &node{}
				n.literals[s.text] = child
			}
			n = child
		}
	}
	if n.leaf != nil {
		return n.leaf
	}
	n.leaf = l
	return nil
}

// match walks a normalised path from byte offset i (at a '/' or the end) and returns
// the most specific leaf with the values of its parameters appended to vals. A * needs
// a non-empty rest: "/docs/" does not match "/docs/*".
func (n *node) match(path string, i int, vals []string) (*leaf, []string) {
	if i >= len(path) || path == "/" {
		return n.leaf, vals
	}
	start := i + 1
	end := strings.IndexByte(path[start:], '/')
	if end < 0 {
		end = len(path)
	} else {
		end += start
	}
	seg := path[start:end]
	if child := n.literals[seg]; child != nil {
		if l, v := child.match(path, end, vals); l != nil {
			return l, v
		}
	}
	if n.param != nil && seg != "" && len(vals) < maxParams {
		if l, v := n.param.match(path, end, append(vals, seg)); l != nil {
			return l, v
		}
	}
	if n.wildcard != nil && start < len(path) && len(vals) < maxParams {
		return n.wildcard, append(vals, path[start:])
	}
	return nil, vals
}
