/**
 * Persistent AVL trees keyed by string: every change makes a new tree that shares each unchanged node with
 * the tree it came from, so many versions of a large map cost memory only for their differences.
 */
export interface TreeNode<V> {
  readonly key: string
  readonly value: V
  readonly left: Tree<V>
  readonly right: Tree<V>
  readonly height: number
}

export type Tree<V> = TreeNode<V> | undefined

function heightOf<V>(tree: Tree<V>): number {
  return tree === undefined ? 0 : tree.height
}

function makeNode<V>(key: string, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  return { key, value, left, right, height: Math.max(heightOf(left), heightOf(right)) + 1 }
}

/** A node over `left` and `right` whose heights differ by at most 2, rotated back into AVL balance. */
function balancedNode<V>(key: string, value: V, left: Tree<V>, right: Tree<V>): TreeNode<V> {
  if (left !== undefined && left.height > heightOf(right) + 1) {
    const pivot = left.right
    if (pivot === undefined || heightOf(left.left) >= pivot.height) {
      return makeNode(left.key, left.value, left.left, makeNode(key, value, pivot, right))
    }
    return makeNode(pivot.key, pivot.value, makeNode(left.key, left.value, left.left, pivot.left), makeNode(key, value, pivot.right, right))
  }
  if (right !== undefined && right.height > heightOf(left) + 1) {
    const pivot = right.left
    if (pivot === undefined || heightOf(right.right) >= pivot.height) {
      return makeNode(right.key, right.value, makeNode(key, value, left, pivot), right.right)
    }
    return makeNode(pivot.key, pivot.value, makeNode(key, value, left, pivot.left), makeNode(right.key, right.value, pivot.right, right.right))
  }
  return makeNode(key, value, left, right)
}

export function treeGet<V>(tree: Tree<V>, key: string): V | undefined {
  let node = tree
  while (node !== undefined) {
    if (key < node.key) node = node.left
    else if (key > node.key) node = node.right
    else return node.value
  }
  return undefined
}

export function treeSet<V>(tree: Tree<V>, key: string, value: V): TreeNode<V> {
  if (tree === undefined) return makeNode(key, value, undefined, undefined)
  if (key < tree.key) return balancedNode(tree.key, tree.value, treeSet(tree.left, key, value), tree.right)
  if (key > tree.key) return balancedNode(tree.key, tree.value, tree.left, treeSet(tree.right, key, value))
  return tree.value === value ? tree : makeNode(key, value, tree.left, tree.right)
}

export function treeDelete<V>(tree: Tree<V>, key: string): Tree<V> {
  if (tree === undefined) return undefined
  if (key < tree.key) {
    const left = treeDelete(tree.left, key)
    return left === tree.left ? tree : balancedNode(tree.key, tree.value, left, tree.right)
  }
  if (key > tree.key) {
    const right = treeDelete(tree.right, key)
    return right === tree.right ? tree : balancedNode(tree.key, tree.value, tree.left, right)
  }
  if (tree.left === undefined) return tree.right
  if (tree.right === undefined) return tree.left
  let successor = tree.right
  while (successor.left !== undefined) successor = successor.left
  return balancedNode(successor.key, successor.value, tree.left, withoutLeftmost(tree.right))
}

function withoutLeftmost<V>(tree: TreeNode<V>): Tree<V> {
  if (tree.left === undefined) return tree.right
  return balancedNode(tree.key, tree.value, withoutLeftmost(tree.left), tree.right)
}

/** Entries with `start <= key < end` (no end: to the last), in key order. */
export function* treeRange<V>(tree: Tree<V>, start: string, end?: string): Generator<readonly [string, V]> {
  const stack: TreeNode<V>[] = []
  let node = tree
  for (;;) {
    while (node !== undefined) {
      if (node.key < start) {
        node = node.right
      } else {
        stack.push(node)
        node = node.left
      }
    }
    const next = stack.pop()
    if (next === undefined || (end !== undefined && next.key >= end)) return
    yield [next.key, next.value]
    node = next.right
  }
}

/**
 * A tree equal to `next`, made by editing `base`: every entry whose value is the same object in both keeps
 * `base`'s nodes. O(size of both) time; memory only for the differences.
 */
export function rebaseTree<V>(base: Tree<V>, next: Tree<V>): Tree<V> {
  let result = base
  const baseEntries = treeRange(base, '')
  const nextEntries = treeRange(next, '')
  let baseEntry = baseEntries.next()
  let nextEntry = nextEntries.next()
  for (;;) {
    if (baseEntry.done === true && nextEntry.done === true) return result
    if (nextEntry.done === true || (baseEntry.done !== true && baseEntry.value[0] < nextEntry.value[0])) {
      if (baseEntry.done !== true) result = treeDelete(result, baseEntry.value[0])
      baseEntry = baseEntries.next()
    } else if (baseEntry.done === true || nextEntry.value[0] < baseEntry.value[0]) {
      result = treeSet(result, nextEntry.value[0], nextEntry.value[1])
      nextEntry = nextEntries.next()
    } else {
      if (baseEntry.value[1] !== nextEntry.value[1]) result = treeSet(result, nextEntry.value[0], nextEntry.value[1])
      baseEntry = baseEntries.next()
      nextEntry = nextEntries.next()
    }
  }
}
