"""One router per area of the console; ``console.app`` includes them all."""
