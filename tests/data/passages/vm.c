#include <stdio.h>
#include <stdlib.h>
#include "vm.h"

// Push one value, growing the stack by half again when it is full.
static void push(VM *vm, long v) {
  if (vm->sp == vm->cap) {
    vm->cap += vm->cap / 2 + 8;
    vm->stack = realloc(vm->stack, vm->cap * sizeof(long));
  }
  vm->stack[vm->sp++] = v;
}

// Pop the top value; popping an empty stack is a fatal interpreter fault.
static long pop(VM *vm) {
  if (vm->sp == 0) {
    fprintf(stderr, "stack underflow at %d\n", vm->pc);
    exit(1);
  }
  return vm->stack[--vm->sp];
}

// Read a little-endian sixteen bit operand that follows the opcode byte.
static int operand(VM *vm) {
  int lo = vm->code[vm->pc++];
  int hi = vm->code[vm->pc++];
  return lo | (hi << 8);
}

// Jump forwards by the operand when the popped condition is zero.
static void jump_if_false(VM *vm) {
  int off = operand(vm);
  if (pop(vm) == 0)
    vm->pc += off;
}

// Jump backwards by the operand: the closing edge of every loop body.
static void loop_back(VM *vm) {
  int off = operand(vm);
  vm->pc -= off;
}

// Divide with truncation towards zero; a zero divisor stops the machine.
static void divide(VM *vm) {
  long b = pop(vm), a = pop(vm);
  if (b == 0) {
    fprintf(stderr, "division by zero\n");
    exit(1);
  }
  push(vm, a / b);
}

// Load a local slot relative to the current frame's base pointer.
static void get_local(VM *vm) {
  int slot = operand(vm);
  push(vm, vm->stack[vm->fp + slot]);
}

// Store into a local slot without popping, so assignment is an expression.
static void set_local(VM *vm) {
  int slot = operand(vm);
  vm->stack[vm->fp + slot] = vm->stack[vm->sp - 1];
}

// Call: remember the return address and the caller's frame on the side stack.
static void call(VM *vm) {
  int target = operand(vm);
  int argc = vm->code[vm->pc++];
  vm->frames[vm->nframes].ret = vm->pc;
  vm->frames[vm->nframes].fp = vm->fp;
  vm->nframes++;
  vm->fp = vm->sp - argc;
  vm->pc = target;
}

// Return: drop the callee's slots but keep its result on top.
static void ret(VM *vm) {
  long result = pop(vm);
  vm->nframes--;
  vm->sp = vm->fp;
  vm->fp = vm->frames[vm->nframes].fp;
  vm->pc = vm->frames[vm->nframes].ret;
  push(vm, result);
}

// Print the popped value in decimal followed by a newline, for debugging scripts.
static void print_top(VM *vm) {
  printf("%ld\n", pop(vm));
}

// Compare the two topmost values and push one when the lower is smaller.
static void less(VM *vm) {
  long b = pop(vm), a = pop(vm);
  push(vm, a < b);
}

// Negate in place; the most negative value stays as it is after wrapping.
static void negate(VM *vm) {
  vm->stack[vm->sp - 1] = -vm->stack[vm->sp - 1];
}

// Duplicate the top value, used by compound assignment operators.
static void dup_top(VM *vm) {
  long v = vm->stack[vm->sp - 1];
  push(vm, v);
}
