"""Teachers: strong LLMs behind one interface (`Teacher.complete`)."""
