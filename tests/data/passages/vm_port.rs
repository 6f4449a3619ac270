pub struct Frame {
    ret: usize,
    base: usize,
}

pub struct Machine {
    values: Vec<i64>,
    bytes: Vec<u8>,
    ip: usize,
    base: usize,
    calls: Vec<Frame>,
}

impl Machine {
    // Push one value, growing the stack by half again when it is full.
    fn push(&mut self, v: i64) {
        self.values.push(v);
    }

    // Pop the top value; popping an empty stack is a fatal interpreter fault.
    fn pop(&mut self) -> Result<i64, String> {
        self.values.pop().ok_or_else(|| format!("empty at {}", self.ip))
    }

    // Read a little-endian sixteen bit operand that follows the opcode byte.
    fn word(&mut self) -> usize {
        let w = u16::from_le_bytes([self.bytes[self.ip], self.bytes[self.ip + 1]]);
        self.ip += 2;
        w as usize
    }

    // Jump forwards by the operand when the popped condition is zero.
    fn branch_zero(&mut self) -> Result<(), String> {
        let delta = self.word();
        if self.pop()? == 0 {
            self.ip += delta;
        }
        Ok(())
    }

    // Jump backwards by the operand: the closing edge of every loop body.
    fn back(&mut self) {
        let delta = self.word();
        self.ip -= delta;
    }

    // Divide with truncation towards zero; a zero divisor stops the machine.
    fn div(&mut self) -> Result<(), String> {
        let (rhs, lhs) = (self.pop()?, self.pop()?);
        let q = lhs.checked_div(rhs).ok_or("zero")?;
        self.push(q);
        Ok(())
    }

    // Load a local slot relative to the current frame's base pointer.
    fn load(&mut self) {
        let at = self.base + self.word();
        let v = self.values[at];
        self.push(v);
    }

    // Store into a local slot without popping, so assignment is an expression.
    fn store(&mut self) {
        let at = self.base + self.word();
        self.values[at] = *self.values.last().unwrap();
    }

    // Call: remember the return address and the caller's frame on the side stack.
    fn invoke(&mut self) {
        let dest = self.word();
        let n = self.bytes[self.ip] as usize;
        self.ip += 1;
        self.calls.push(Frame { ret: self.ip, base: self.base });
        self.base = self.values.len() - n;
        self.ip = dest;
    }

    // Return: drop the callee's slots but keep its result on top.
    fn leave(&mut self) -> Result<(), String> {
        let v = self.pop()?;
        let f = self.calls.pop().ok_or("no frame")?;
        self.values.truncate(self.base);
        self.base = f.base;
        self.ip = f.ret;
        self.push(v);
        Ok(())
    }

    // Print the popped value in decimal followed by a newline, for debugging scripts.
    fn show(&mut self) -> Result<(), String> {
        println!("{}", self.pop()?);
        Ok(())
    }

    // Compare the two topmost values and push one when the lower is smaller.
    fn lt(&mut self) -> Result<(), String> {
        let (rhs, lhs) = (self.pop()?, self.pop()?);
        self.push(i64::from(lhs < rhs));
        Ok(())
    }

    // Negate in place; the most negative value stays as it is after wrapping.
    fn neg(&mut self) {
        if let Some(top) = self.values.last_mut() {
            *top = top.wrapping_neg();
        }
    }

    // Duplicate the top value, used by compound assignment operators.
    fn dup(&mut self) {
        let v = *self.values.last().unwrap();
        self.push(v);
    }
}
