(define (problem trajkit_2_pick_cool_then_place_in_recep)
    (:domain alfred)
    (:objects
        agent1 - agent
        locCenter - location
        loc1 - location
        loc2 - location
        loc3 - location
        loc4 - location
        loc5 - location
        loc6 - location
        loc7 - location
        loc8 - location
        CabinetType - rtype
        CounterTopType - rtype
        DiningTableType - rtype
        FridgeType - rtype
        MicrowaveType - rtype
        SinkBasinType - rtype
        StoveBurnerType - rtype
        BowlType - otype
        ButterKnifeType - otype
        EggType - otype
        KnifeType - otype
        PanType - otype
        PotatoType - otype
        TomatoType - otype
        Cabinet_bar_01 - receptacle
        Cabinet_bar_00 - receptacle
        CounterTop_bar_00 - receptacle
        DiningTable_bar_00 - receptacle
        Fridge_bar_00 - receptacle
        Microwave_bar_00 - receptacle
        Sink_bar_00_bar_SinkBasin - receptacle
        StoveBurner_bar_00 - receptacle
        Tomato_bar_00 - object
        Potato_bar_00 - object
        Pan_bar_00 - object
        Bowl_bar_00 - object
        Egg_bar_00 - object
    )
    (:init
        (atLocation agent1 locCenter)
        (receptacleType Cabinet_bar_01 CabinetType)
        (receptacleAtLocation Cabinet_bar_01 loc1)
        (openable Cabinet_bar_01)
        (canContain CabinetType BowlType)
        (canContain CabinetType PanType)
        (receptacleType Cabinet_bar_00 CabinetType)
        (receptacleAtLocation Cabinet_bar_00 loc2)
        (openable Cabinet_bar_00)
        (receptacleType CounterTop_bar_00 CounterTopType)
        (receptacleAtLocation CounterTop_bar_00 loc3)
        (canContain CounterTopType BowlType)
        (canContain CounterTopType ButterKnifeType)
        (canContain CounterTopType EggType)
        (canContain CounterTopType KnifeType)
        (canContain CounterTopType PanType)
        (canContain CounterTopType PotatoType)
        (canContain CounterTopType TomatoType)
        (receptacleType DiningTable_bar_00 DiningTableType)
        (receptacleAtLocation DiningTable_bar_00 loc4)
        (canContain DiningTableType BowlType)
        (canContain DiningTableType ButterKnifeType)
        (canContain DiningTableType EggType)
        (canContain DiningTableType KnifeType)
        (canContain DiningTableType PanType)
        (canContain DiningTableType PotatoType)
        (canContain DiningTableType TomatoType)
        (receptacleType Fridge_bar_00 FridgeType)
        (receptacleAtLocation Fridge_bar_00 loc5)
        (openable Fridge_bar_00)
        (canContain FridgeType BowlType)
        (canContain FridgeType EggType)
        (canContain FridgeType PanType)
        (canContain FridgeType PotatoType)
        (canContain FridgeType TomatoType)
        (receptacleType Microwave_bar_00 MicrowaveType)
        (receptacleAtLocation Microwave_bar_00 loc6)
        (openable Microwave_bar_00)
        (canContain MicrowaveType BowlType)
        (canContain MicrowaveType EggType)
        (canContain MicrowaveType PotatoType)
        (canContain MicrowaveType TomatoType)
        (receptacleType Sink_bar_00_bar_SinkBasin SinkBasinType)
        (receptacleAtLocation Sink_bar_00_bar_SinkBasin loc7)
        (canContain SinkBasinType BowlType)
        (canContain SinkBasinType ButterKnifeType)
        (canContain SinkBasinType EggType)
        (canContain SinkBasinType KnifeType)
        (canContain SinkBasinType PanType)
        (canContain SinkBasinType PotatoType)
        (canContain SinkBasinType TomatoType)
        (receptacleType StoveBurner_bar_00 StoveBurnerType)
        (receptacleAtLocation StoveBurner_bar_00 loc8)
        (canContain StoveBurnerType PanType)
        (objectType Tomato_bar_00 TomatoType)
        (inReceptacle Tomato_bar_00 Cabinet_bar_00)
        (objectAtLocation Tomato_bar_00 loc2)
        (heatable Tomato_bar_00)
        (coolable Tomato_bar_00)
        (cleanable Tomato_bar_00)
        (pickupable Tomato_bar_00)
        (objectType Potato_bar_00 PotatoType)
        (inReceptacle Potato_bar_00 DiningTable_bar_00)
        (objectAtLocation Potato_bar_00 loc4)
        (heatable Potato_bar_00)
        (coolable Potato_bar_00)
        (cleanable Potato_bar_00)
        (pickupable Potato_bar_00)
        (objectType Pan_bar_00 PanType)
        (inReceptacle Pan_bar_00 StoveBurner_bar_00)
        (objectAtLocation Pan_bar_00 loc8)
        (coolable Pan_bar_00)
        (cleanable Pan_bar_00)
        (pickupable Pan_bar_00)
        (objectType Bowl_bar_00 BowlType)
        (inReceptacle Bowl_bar_00 Cabinet_bar_01)
        (objectAtLocation Bowl_bar_00 loc1)
        (coolable Bowl_bar_00)
        (cleanable Bowl_bar_00)
        (pickupable Bowl_bar_00)
        (objectType Egg_bar_00 EggType)
        (inReceptacle Egg_bar_00 Fridge_bar_00)
        (objectAtLocation Egg_bar_00 loc5)
        (heatable Egg_bar_00)
        (coolable Egg_bar_00)
        (cleanable Egg_bar_00)
        (pickupable Egg_bar_00)
    )
        (:goal
            (and
                (exists (?r - receptacle)
                    (exists (?o - object)
                        (and
                            (coolable ?o)
                            (objectType ?o TomatoType)
                            (receptacleType ?r CounterTopType)
                            (isCool ?o)
                            (inReceptacle ?o ?r)
                        )
                    )
                )
            )
        )
    )
    
